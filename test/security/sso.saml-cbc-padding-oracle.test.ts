// Padding oracle: an attacker replays a captured AES-CBC encrypted assertion with altered ciphertext, and learns from each refusal (or from how long it took) whether the padding decrypted well, until the assertion is decrypted block by block.
import supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { AES128_CBC, AES128_GCM, AES256_CBC, AES256_GCM, decodeResponse, tamper } from "../support/saml-idp";
import { addSamlConnection, expectRefused, failureReasons, footprint, idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTenant } from "../support/saml-login";

let t: TestApp;
/** requireGcmEncryption: AES-CBC refused before any key is used. */
let gcmOnly: SamlTenant;
/** The default: AES-GCM or AES-CBC. */
let either: SamlTenant;

beforeAll(async () => {
  t = await startTestApp();
  gcmOnly = await setUpSamlTenant(t, { provisioning: "jit" });
  await t.api().patch(`/api/v1/tenants/${gcmOnly.slug}/sso-connections/${gcmOnly.connectionId}`).send({ requireGcmEncryption: true }).expect(200);
  either = await setUpSamlTenant(t, { provisioning: "jit" });
});
afterAll(() => t.close());

/** Flips one bit of the last ciphertext block of the content (the padding block, for CBC), as the attack does. */
function flipLastBlock(xml: string): string {
  const values = [...xml.matchAll(/<xenc:CipherValue>([^<]+)<\/xenc:CipherValue>/g)];
  const content = values.at(-1)!;
  const bytes = Buffer.from(content[1]!, "base64");
  bytes[bytes.length - 17]! ^= 0x01;
  return xml.slice(0, content.index) + `<xenc:CipherValue>${bytes.toString("base64")}</xenc:CipherValue>` + xml.slice(content.index! + content[0].length);
}

async function refusedFor(tenant: SamlTenant, form: { SAMLResponse: string; RelayState?: string }, reason: string): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
  expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe(reason);
}

/** The content ciphers the tenant's SP metadata offers, in order. */
async function offeredCiphers(tenant: SamlTenant): Promise<string[]> {
  const xml = (await supertest(t.app).get(`/sso/${tenant.slug}/saml/metadata`).expect(200)).text;
  return [...xml.matchAll(/<EncryptionMethod Algorithm="([^"]+)"\/>/g)].map((match) => match[1]!);
}

describe("a connection that requires AES-GCM", () => {
  it("is the only SAML connection of its tenant, so the SP metadata offers AES-GCM alone, and an IdP choosing from it picks what is accepted", async () => {
    expect(await offeredCiphers(gcmOnly)).toEqual([AES256_GCM, AES128_GCM]);
    expect(await offeredCiphers(either)).toEqual([AES256_GCM, AES128_GCM, AES256_CBC, AES128_CBC]);
  });

  it("leaves AES-CBC in the metadata while another SAML connection of the tenant accepts it", async () => {
    const mixed = await setUpSamlTenant(t);
    await t.api().patch(`/api/v1/tenants/${mixed.slug}/sso-connections/${mixed.connectionId}`).send({ requireGcmEncryption: true }).expect(200);
    expect(await offeredCiphers(mixed)).toEqual([AES256_GCM, AES128_GCM]);
    await addSamlConnection(t, mixed);
    expect(await offeredCiphers(mixed)).toEqual([AES256_GCM, AES128_GCM, AES256_CBC, AES128_CBC]);
  });

  it("signs the user in with an AES-GCM encrypted assertion", async () => {
    const form = await idpAnswer(t, gcmOnly, { user: { nameId: "gcm@corp.example" }, encrypt: { content: AES128_GCM } });
    const res = await postToAcs(t, gcmOnly.slug, form);
    expect([res.status, sessionCookieOf(res) !== undefined]).toEqual([303, true]);
  });

  it.each([["AES-256-CBC", AES256_CBC], ["AES-128-CBC", AES128_CBC]])("refuses an assertion the IdP encrypted with %s (weak_encryption_algorithm)", async (_, content) => {
    const form = await idpAnswer(t, gcmOnly, { user: { nameId: "cbc@corp.example" }, encrypt: { content } });
    expect(decodeResponse(form.SAMLResponse)).toContain(content);
    await refusedFor(gcmOnly, form, "weak_encryption_algorithm");
  });

  it("gives a tampered CBC ciphertext the same refusal as an intact one, and never decrypts it: no oracle, and nothing counted toward the decryption throttle", async () => {
    // Fifteen probes, past the 10 failed decryptions in a row that would throttle the address: had any of them
    // been decrypted, the refusals would turn to decryption_failed and then decryption_throttled.
    for (let i = 0; i < 15; i += 1) {
      const form = await idpAnswer(t, gcmOnly, { user: { nameId: "probe@corp.example" }, encrypt: { content: AES256_CBC } });
      form.SAMLResponse = tamper(form.SAMLResponse, flipLastBlock);
      await refusedFor(gcmOnly, form, "weak_encryption_algorithm");
    }
    const reasons = await failureReasons(t, gcmOnly.tenantId);
    expect(reasons.filter((reason) => reason === "decryption_failed" || reason === "decryption_throttled")).toEqual([]);
    // The same address still signs in with GCM: nothing was held against it.
    const form = await idpAnswer(t, gcmOnly, { user: { nameId: "gcm@corp.example" }, encrypt: {} });
    expect((await postToAcs(t, gcmOnly.slug, form)).status).toBe(303);
  });

  it("refuses an encrypted assertion whose content names no algorithm, rather than leave the choice to the library", async () => {
    const form = await idpAnswer(t, gcmOnly, { user: { nameId: "unnamed@corp.example" }, encrypt: {} });
    // Drops the EncryptedData's own EncryptionMethod (the content's), keeping the key transport's.
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(/(<xenc:EncryptedData[^>]*>)\s*<xenc:EncryptionMethod[^>]*\/>/, "$1"));
    expect(decodeResponse(form.SAMLResponse)).not.toMatch(/<xenc:EncryptedData[^>]*>\s*<xenc:EncryptionMethod/);
    await refusedFor(gcmOnly, form, "weak_encryption_algorithm");
  });
});

describe("a connection with the default (AES-GCM or AES-CBC)", () => {
  it("signs the user in with an AES-CBC encrypted assertion, as ADFS and Okta send by default", async () => {
    const form = await idpAnswer(t, either, { user: { nameId: "cbc@corp.example" }, encrypt: { content: AES256_CBC } });
    const res = await postToAcs(t, either.slug, form);
    expect([res.status, sessionCookieOf(res) !== undefined]).toEqual([303, true]);
  });

  it("refuses a tampered CBC ciphertext with decryption_failed, the one refusal for every failure to decrypt", async () => {
    const form = await idpAnswer(t, either, { user: { nameId: "probe@corp.example" }, encrypt: { content: AES256_CBC } });
    form.SAMLResponse = tamper(form.SAMLResponse, flipLastBlock);
    await refusedFor(either, form, "decryption_failed");
  });
});
