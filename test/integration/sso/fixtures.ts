import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestApp } from "../../support/harness";

/** Certificates made by openssl, independently of the code under test. */
export function makeCertificates(): { valid: string; second: string; expired: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-sso-certs-"));
  const at = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  try {
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=idp", "-keyout", "k1.pem", "-out", "valid.pem");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "400", "-subj", "/CN=idp-next", "-keyout", "k2.pem", "-out", "second.pem");
    // `openssl req -days` cannot go back in time; `openssl ca` takes explicit start and end dates.
    writeFileSync(at("ca.cnf"), "[ca]\ndefault_ca=tmp\n[tmp]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=any\nunique_subject=no\n[any]\ncommonName=supplied\n");
    writeFileSync(at("index.txt"), "");
    writeFileSync(at("serial"), "01\n");
    openssl("req", "-new", "-key", "k1.pem", "-subj", "/CN=old-idp", "-out", "old.csr");
    openssl("ca", "-batch", "-notext", "-config", "ca.cnf", "-selfsign", "-keyfile", "k1.pem", "-in", "old.csr",
      "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-out", "expired.pem");
    const read = (name: string) => readFileSync(at(name), "utf8");
    return { valid: read("valid.pem"), second: read("second.pem"), expired: read("expired.pem") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const base64Of = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");

export function idpMetadata(options: { entityId: string; certificates: string[]; doctype?: string; sso?: string; slo?: string }): string {
  const keys = options.certificates
    .map((pem) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${base64Of(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>${options.doctype ?? ""}
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${options.entityId}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">
    ${keys}
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>bm90LWEtY2VydA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${options.slo ?? "https://idp.example/slo"}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example/sso/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${options.sso ?? "https://idp.example/sso/redirect"}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}

/**
 * A tiny discovery server on 127.0.0.1. `/good` publishes its own issuer, `/liar` names another one,
 * `/slow` never answers, anything else is 404.
 */
export async function startDiscoveryServer(): Promise<{ base: string; close: () => Promise<void> }> {
  let base = "";
  const server: Server = createServer((req, res) => {
    const match = /^\/(\w+)\/\.well-known\/openid-configuration$/.exec(req.url ?? "");
    const tenant = match?.[1];
    if (tenant === "slow") return; // hold the request until the client gives up
    if (tenant !== "good" && tenant !== "liar") {
      res.writeHead(404).end();
      return;
    }
    const issuer = tenant === "good" ? `${base}/good` : "https://evil.example";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** An admin who could still sign in through a regional bypass URL: bypass list, password, TOTP. */
export async function addBreakGlassAdmin(app: TestApp, slug: string, email = "root@toggle.example"): Promise<string> {
  const user = await app.api().post(`/api/v1/tenants/${slug}/users`).send({ email, name: "Root", kind: "member", role: "admin", ssoBypass: true, password: "correct horse battery staple" }).expect(201);
  await app.container.infra.db.user.update({ where: { id: user.body.id }, data: { totpSecret: "v1.sealed-in-test", totpEnrolledAt: new Date() } });
  return user.body.id;
}
