// An attacker (or an outdated IdP) sends assertions encrypted with RSA PKCS#1 v1.5 key transport: each
// response the service decrypts that way is a query to a Bleichenbacher oracle on the SP's private key, and
// enough of them decrypt any captured assertion. 3DES content encryption is refused for the same reason of age.
import type { TestApp } from "../support/harness";
import { AES256_CBC, AES256_GCM, RSA_1_5, tamper, TRIPLEDES_CBC } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

type Form = { SAMLResponse: string; RelayState?: string };

async function refusedFor(form: Form, reason: string): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
  expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe(reason);
}

describe("weak key transport", () => {
  it.each([AES256_GCM, AES256_CBC])("refuses an assertion whose key is encrypted with RSA PKCS#1 v1.5 (content %s)", async (content) => {
    // A well-formed, validly signed assertion for the SP's key; only the key transport is the 1998 one.
    const form = await idpAnswer(t, tenant, { user: { nameId: "victim@corp.example" }, encrypt: { keyTransport: RSA_1_5, content } });
    await refusedFor(form, "weak_encryption_algorithm");
  });

  it("refuses RSA PKCS#1 v1.5 before using the key: a garbled key ciphertext gets the same answer", async () => {
    // Bleichenbacher's probes are garbled key ciphertexts; if the service tried them, some would fail differently.
    const form = await idpAnswer(t, tenant, { user: { nameId: "victim@corp.example" }, encrypt: { keyTransport: RSA_1_5 } });
    const garbled = tamper(form.SAMLResponse, (xml) => xml.replace(/(<xenc:CipherValue>)([^<]{40})/, (_m, open: string) => `${open}${"A".repeat(40)}`));
    expect(garbled).not.toBe(form.SAMLResponse);
    await refusedFor({ ...form, SAMLResponse: garbled }, "weak_encryption_algorithm");
  });

  it("refuses an RSA PKCS#1 v1.5 EncryptedKey smuggled next to an RSA-OAEP one", async () => {
    // xml-encryption picks an EncryptedKey by document order: the attacker adds a second one, hoping only the first is checked.
    const form = await idpAnswer(t, tenant, { user: { nameId: "victim@corp.example" }, encrypt: {} });
    const smuggled = tamper(form.SAMLResponse, (xml) => xml.replace(
      "</saml:EncryptedAssertion>",
      `<xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="${RSA_1_5}"/><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></saml:EncryptedAssertion>`,
    ));
    expect(smuggled).not.toBe(form.SAMLResponse);
    await refusedFor({ ...form, SAMLResponse: smuggled }, "weak_encryption_algorithm");
  });
});

describe("weak content encryption", () => {
  it("refuses an assertion encrypted with 3DES", async () => {
    // Triple DES (64-bit blocks) is deprecated by NIST; the SP metadata never offers it.
    const form = await idpAnswer(t, tenant, { user: { nameId: "victim@corp.example" }, encrypt: { content: TRIPLEDES_CBC } });
    await refusedFor(form, "weak_encryption_algorithm");
  });
});
