// An attacker sends encrypted assertions the IdP never signed, or edits the ciphertext of real ones, hoping
// that encryption passes for authentication, or that the service's answers tell a padding or parsing error
// from any other failure (an oracle that decrypts XML Encryption with AES-CBC: Jager and Somorovsky, 2011).
import supertest from "supertest";
import type { TestApp } from "../support/harness";
import { AES128_CBC, AES256_CBC, AES256_GCM, flipCipherValue, makeIdpKeys, RSA_SHA1, TestSamlIdp, type AssertionEncryption } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, setUpSamlTenant, type SamlTenant, withJitSamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;
withJitSamlTenant((app, created) => {
  [t, tenant] = [app, created];
});

type Form = { SAMLResponse: string; RelayState?: string };

async function refusedFor(target: SamlTenant, form: Form, reason: string): Promise<supertest.Response> {
  const before = await footprint(t, target);
  const res = await postToAcs(t, target.slug, form);
  await expectRefused(t, target, res, before);
  expect((await failureReasons(t, target.tenantId)).at(-1)).toBe(reason);
  return res;
}

const encrypted = (target: SamlTenant, encrypt: AssertionEncryption = {}, nameId = "victim@corp.example") => idpAnswer(t, target, { user: { nameId }, encrypt });

describe("encryption is not authentication", () => {
  it("refuses an encrypted assertion that carries no signature", async () => {
    // Anyone can encrypt to the SP's published certificate: the attacker writes an assertion for the CEO and encrypts it.
    const form = await idpAnswer(t, tenant, { user: { nameId: "ceo@corp.example" }, sign: "none", encrypt: {} });
    await refusedFor(tenant, form, "signature_invalid");
  });

  it("refuses an unsigned encrypted assertion inside a Response signed over it", async () => {
    // A Response signature does not stand for the assertion: the contract wants the assertion itself signed.
    const form = await idpAnswer(t, tenant, { user: { nameId: "ceo@corp.example" }, sign: "response", encrypt: {} });
    await refusedFor(tenant, form, "signature_invalid");
  });

  it("refuses an encrypted assertion signed with the attacker's own key", async () => {
    // The forger signs with a key of their own (its certificate in KeyInfo) and encrypts the result to the SP.
    const form = await idpAnswer(t, tenant, { user: { nameId: "ceo@corp.example" }, signer: new TestSamlIdp(tenant.idp.entityId), encrypt: {} });
    await refusedFor(tenant, form, "signature_invalid");
  });

  it("refuses a decrypted assertion signed with RSA-SHA1, as a plain one would be", async () => {
    // Hiding a weak signature inside the encryption must not get it past the algorithm allow-list.
    const form = await idpAnswer(t, tenant, { user: { nameId: "victim@corp.example" }, signatureAlgorithm: RSA_SHA1, encrypt: {} });
    await refusedFor(tenant, form, "weak_signature_algorithm");
  });
});

describe("decryption failures", () => {
  it("refuses an assertion encrypted to another key", async () => {
    // An assertion encrypted for another SP (the attacker's) is replayed here: this SP cannot and must not read it.
    await refusedFor(tenant, await encrypted(tenant, { certificate: makeIdpKeys("another-sp").certificate }), "decryption_failed");
  });

  it.each([
    ["AES-256-GCM content, middle", AES256_GCM, "content", "middle"],
    ["AES-256-CBC content, first block", AES256_CBC, "content", "start"],
    ["AES-128-CBC content, last block (padding)", AES128_CBC, "content", "end"],
    ["the encrypted content key", AES256_GCM, "key", "middle"],
  ] as const)("refuses tampered ciphertext: %s", async (_label, content, which, where) => {
    // The attacker flips ciphertext bits of a real encrypted assertion, probing what the service makes of the result.
    await refusedFor(tenant, flipCipherValue(await encrypted(tenant, { content }), which, where), "decryption_failed");
  });

  it("answers every decryption failure with the same status and page, whatever went wrong", async () => {
    // A padding oracle needs two distinguishable answers: wrong padding, garbled XML, a bad key and a bad GCM tag must all look alike.
    const pages: Array<{ status: number; body: string }> = [];
    const probes: Array<(target: SamlTenant) => Promise<Form>> = [
      async (target) => encrypted(target, { certificate: makeIdpKeys("another-sp").certificate }),
      async (target) => flipCipherValue(await encrypted(target, { content: AES128_CBC }), "content", "end"),
      async (target) => flipCipherValue(await encrypted(target, { content: AES256_CBC }), "content", "start"),
      async (target) => flipCipherValue(await encrypted(target, { content: AES256_GCM }), "content", "middle"),
      async (target) => flipCipherValue(await encrypted(target), "key", "middle"),
    ];
    for (const probe of probes) {
      // A fresh tenant each: the page of a connection that keeps failing says so, which is not what is compared here.
      const target = await setUpSamlTenant(t, { provisioning: "jit" });
      const res = await refusedFor(target, await probe(target), "decryption_failed");
      pages.push({ status: res.status, body: res.text.replaceAll(target.slug, "{tenant}") });
    }
    expect(new Set(pages.map((page) => JSON.stringify(page))).size).toBe(1);
    expect(pages[0]!.status).toBe(400);
    // ... and the same page as any other refused response: nothing in it is about decryption.
    const other = await setUpSamlTenant(t, { provisioning: "jit" });
    const forged = await refusedFor(other, await idpAnswer(t, other, { user: { nameId: "x@corp.example" }, sign: "none", encrypt: {} }), "signature_invalid");
    expect({ status: forged.status, body: forged.text.replaceAll(other.slug, "{tenant}") }).toEqual(pages[0]);
    expect(pages[0]!.body).not.toMatch(/decrypt|padding|cipher|key/i);
  });
});
