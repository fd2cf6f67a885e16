// Encrypted SAML assertions end to end: the SP metadata publishes an encryption certificate of its own, and
// an IdP that encrypts the signed assertion to it (as ADFS, Okta or Entra can) logs its user in, with every
// content cipher the metadata lists and with the Response signed over the EncryptedAssertion too.
import { X509Certificate } from "node:crypto";
import { DOMParser } from "@xmldom/xmldom";
import supertest from "supertest";
import { startTestApp, type TestApp } from "../../support/harness";
import { AES128_CBC, AES128_GCM, AES256_CBC, AES256_GCM, decodeResponse, encryptAssertionWithXmlsec, spEncryptionCertificate } from "../../support/saml-idp";
import { idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTenant } from "../../support/saml-login";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DSIG = "http://www.w3.org/2000/09/xmldsig#";
let t: TestApp;
let tenant: SamlTenant;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await setUpSamlTenant(t, { provisioning: "jit" });
});
afterAll(() => t.close());

const keyDescriptors = (metadata: string) => Array.from(new DOMParser().parseFromString(metadata, "text/xml").getElementsByTagNameNS(MD, "KeyDescriptor"));
const certificateOf = (descriptor: Element) => descriptor.getElementsByTagNameNS(DSIG, "X509Certificate")[0]!.textContent!.replace(/\s+/g, "");

async function signedInEmail(cookie: string): Promise<string | undefined> {
  const res = await supertest(t.app).get("/api/v1/session").set("Cookie", cookie);
  return res.status === 200 ? res.body.user?.email : undefined;
}

describe("SP metadata", () => {
  it("publishes an encryption certificate next to the signing one, from a key pair of its own", async () => {
    const descriptors = keyDescriptors(tenant.spMetadata);
    expect(descriptors.map((d) => d.getAttribute("use"))).toEqual(["signing", "encryption"]);
    const [signing, encryption] = descriptors.map(certificateOf);
    expect(encryption).not.toBe(signing);
    const certificate = new X509Certificate(Buffer.from(encryption!, "base64"));
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    // The content ciphers the SP accepts, AES-GCM first; no 3DES.
    const methods = Array.from(descriptors[1]!.getElementsByTagNameNS(MD, "EncryptionMethod")).map((m) => m.getAttribute("Algorithm"));
    expect(methods).toEqual([AES256_GCM, AES128_GCM, AES256_CBC, AES128_CBC]);
    // Stored sealed in PostgreSQL like the signing key, under its own purpose.
    const rows = await t.container.infra.db.signingKey.findMany({ where: { purpose: "saml-sp-encryption", retiredAt: null } });
    const row = rows.find((r) => r.certificatePem?.replace(/-----[A-Z ]+-----|\s+/g, "") === encryption);
    expect(row).toMatchObject({ algorithm: "RSA-OAEP", privateKeySealed: expect.stringMatching(/^v1\./) });
    expect(row!.privateKeySealed).not.toMatch(/PRIVATE KEY/);
    // The same certificate for every tenant of the deployment.
    const other = await setUpSamlTenant(t);
    expect(spEncryptionCertificate(other.spMetadata)).toBe(spEncryptionCertificate(tenant.spMetadata));
  });
});

describe("login with an encrypted assertion", () => {
  it.each([AES256_GCM, AES128_GCM, AES256_CBC, AES128_CBC])("signs the user in when the signed assertion is encrypted with %s", async (content) => {
    const email = `enc-${content.slice(-10).replace(/\W/g, "")}@corp.example`;
    const form = await idpAnswer(t, tenant, { user: { nameId: email }, encrypt: { content } });
    const xml = decodeResponse(form.SAMLResponse);
    expect(xml).toContain("EncryptedAssertion");
    expect(xml).not.toContain(email);
    const res = await postToAcs(t, tenant.slug, form);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/account");
    const cookie = sessionCookieOf(res);
    expect(cookie).toBeDefined();
    expect(await signedInEmail(cookie!)).toBe(email);
  });

  it("signs the user in when the Response is signed over the EncryptedAssertion as well", async () => {
    const form = await idpAnswer(t, tenant, { user: { nameId: "both-signed@corp.example" }, encrypt: {}, sign: "both" });
    const res = await postToAcs(t, tenant.slug, form);
    expect(res.status).toBe(303);
    expect(await signedInEmail(sessionCookieOf(res)!)).toBe("both-signed@corp.example");
  });

  it("signs the user in when xmlsec1 encrypted the assertion (an implementation independent of the SP's)", async () => {
    const form = await idpAnswer(t, tenant, { user: { nameId: "xmlsec@corp.example" } });
    form.SAMLResponse = encryptAssertionWithXmlsec(form.SAMLResponse, spEncryptionCertificate(tenant.spMetadata));
    expect(decodeResponse(form.SAMLResponse)).toMatch(/<saml:EncryptedAssertion><xenc:EncryptedData[^>]*>[\s\S]*xmlenc#aes256-cbc/);
    expect(decodeResponse(form.SAMLResponse)).not.toContain("xmlsec@corp.example");
    const res = await postToAcs(t, tenant.slug, form);
    expect(res.status).toBe(303);
    expect(await signedInEmail(sessionCookieOf(res)!)).toBe("xmlsec@corp.example");
  });

  it("records the login and keeps nothing of the decrypted assertion in the audit trail", async () => {
    const form = await idpAnswer(t, tenant, { user: { nameId: "audited@corp.example", attributes: { secretAttribute: "s3cr3t-value" } }, encrypt: {} });
    expect((await postToAcs(t, tenant.slug, form)).status).toBe(303);
    const rows = await t.container.infra.db.auditEvent.findMany({ where: { tenantId: tenant.tenantId } });
    expect(rows.some((r) => r.type === "sso.login.succeeded")).toBe(true);
    expect(JSON.stringify(rows.map((r) => ({ type: r.type, data: r.data })))).not.toMatch(/s3cr3t-value|PRIVATE KEY|<saml/);
  });
});
