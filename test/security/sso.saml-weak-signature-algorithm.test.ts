// An attacker who can forge SHA-1 (chosen-prefix collisions are practical) makes a SAML response whose RSA-SHA1 signature, or SHA-1 digest, still verifies under the IdP's key, and signs in as anyone.
import * as samlify from "samlify";
import type { TestApp } from "../support/harness";
import { decodeResponse, RSA_SHA1, RSA_SHA256, signAssertionWithXmlsec } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, sessionCookieOf, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

async function refused(form: { SAMLResponse: string; RelayState?: string }): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
  expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe("weak_signature_algorithm");
}

describe("SHA-1 in SAML signatures", () => {
  it("accepts the same response signed with RSA-SHA256 through the same path", async () => {
    // The control: only the algorithm differs in the refusals below.
    const form = await idpAnswer(t, tenant, { user: { nameId: "strong@corp.example" }, sign: "both", signatureAlgorithm: RSA_SHA256 });
    expect(decodeResponse(form.SAMLResponse)).toContain("xmldsig-more#rsa-sha256");
    const res = await postToAcs(t, tenant.slug, form);
    expect(res.status).toBe(303);
    expect(sessionCookieOf(res)).toBeDefined();
  });

  it("refuses an assertion signed with RSA-SHA1 (and a SHA-1 digest), though the signature is valid", async () => {
    const form = await idpAnswer(t, tenant, { user: { nameId: "sha1@corp.example" }, signatureAlgorithm: RSA_SHA1 });
    const xml = decodeResponse(form.SAMLResponse);
    expect(xml).toContain("xmldsig#rsa-sha1");
    expect(xml).toContain("xmldsig#sha1");
    await refused(form);
  });

  it("refuses a response whose Response and assertion are both signed with RSA-SHA1", async () => {
    await refused(await idpAnswer(t, tenant, { user: { nameId: "both-sha1@corp.example" }, sign: "both", signatureAlgorithm: RSA_SHA1 }));
  });

  it("refuses an RSA-SHA256 assertion wrapped in a Response signed with RSA-SHA1", async () => {
    // Every signature node-saml verifies counts: a weak outer one is not excused by a strong inner one.
    const form = await idpAnswer(t, tenant, { user: { nameId: "outer-sha1@corp.example" }, signatureAlgorithm: RSA_SHA256 });
    form.SAMLResponse = samlify.SamlLib.constructSAMLSignature({
      rawSamlMessage: decodeResponse(form.SAMLResponse), privateKey: tenant.idp.keys.privateKey, isMessageSigned: true, signatureAlgorithm: RSA_SHA1,
      signingCert: tenant.idp.certificate.replace(/-----[A-Z ]+-----|\s+/g, ""),
      signatureConfig: { prefix: "ds", location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: "after" } },
    } as never) as string;
    expect(decodeResponse(form.SAMLResponse).match(/<ds:SignatureMethod Algorithm="([^"]+)"/g)).toHaveLength(2);
    await refused(form);
  });

  it("refuses an RSA-SHA256 signature whose reference uses a SHA-1 digest (signed by xmlsec1)", async () => {
    // A SHA-1 digest is the weak link even under a strong signature method: a colliding assertion keeps the digest.
    const sign = async (digest: string) => {
      const form = await idpAnswer(t, tenant, { user: { nameId: `digest-${digest.slice(-6)}@corp.example` }, sign: "none" });
      form.SAMLResponse = signAssertionWithXmlsec(form.SAMLResponse, tenant.idp.keys, { signature: RSA_SHA256, digest });
      return form;
    };
    // The control: the same xmlsec1 signature with a SHA-256 digest signs in.
    const strong = await postToAcs(t, tenant.slug, await sign("http://www.w3.org/2001/04/xmlenc#sha256"));
    expect(strong.status).toBe(303);
    await refused(await sign("http://www.w3.org/2000/09/xmldsig#sha1"));
  });

  it("records the refusal as sso.login.failed with its reason, readable through the audit API", async () => {
    await refused(await idpAnswer(t, tenant, { user: { nameId: "audit-sha1@corp.example" }, signatureAlgorithm: RSA_SHA1 }));
    const res = await t.api().get(`/api/v1/tenants/${tenant.slug}/audit-events`).query({ type: "sso.login.failed" }).expect(200);
    expect(res.body.items[0]).toMatchObject({
      type: "sso.login.failed",
      target: { type: "sso_connection", id: tenant.connectionId },
      data: { connectionId: tenant.connectionId, protocol: "saml", reason: "weak_signature_algorithm" },
    });
  });
});
