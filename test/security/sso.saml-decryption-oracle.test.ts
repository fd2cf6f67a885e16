// Attack: a padding oracle. The attacker posts thousands of edited copies of a captured EncryptedAssertion and
// times the refusals to learn which ones decrypted, byte by byte recovering the assertion (Jager and Somorovsky, 2011).
import type supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { AES256_CBC, flipCipherValue, type PostedResponse } from "../support/saml-idp";
import { failureReasons, idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTenant } from "../support/saml-login";

let t: TestApp;
let tenant: SamlTenant;

beforeAll(async () => {
  // The test client is a trusted proxy, so X-Forwarded-For sets the client address.
  t = await startTestApp({ TRUST_PROXY: "loopback" });
  tenant = await setUpSamlTenant(t, { provisioning: "jit" });
});
afterAll(() => t.close());

const encrypted = (nameId: string) => idpAnswer(t, tenant, { user: { nameId }, encrypt: { content: AES256_CBC } });
const plain = (nameId: string) => idpAnswer(t, tenant, { user: { nameId } });
/** An edited copy: one character of the content's last cipher block (where CBC padding sits) flipped. */
const edited = async () => flipCipherValue(await encrypted("victim@corp.example"), "content", "end");
const post = (form: PostedResponse, ip: string): Promise<supertest.Response> => postToAcs(t, tenant.slug, form).set("X-Forwarded-For", ip);
const lastReason = async () => (await failureReasons(t, tenant.tenantId)).at(-1);

describe("failures to decrypt from one address", () => {
  it("are refused without the key after ten in a row, for that address only and for encrypted responses only", async () => {
    const attacker = "203.0.113.7";
    for (let i = 1; i <= 10; i++) {
      const res = await post(await edited(), attacker);
      expect(res.status).toBe(400);
      expect(await lastReason()).toBe("decryption_failed");
    }
    // The eleventh edited copy, and even a genuine encrypted response, are refused before any decryption.
    expect((await post(await edited(), attacker)).status).toBe(400);
    expect(await lastReason()).toBe("decryption_throttled");
    const genuine = await post(await encrypted("user-at-attacker-ip@corp.example"), attacker);
    expect(genuine.status).toBe(400);
    expect(sessionCookieOf(genuine)).toBeUndefined();
    expect(await lastReason()).toBe("decryption_throttled");

    // Nobody else is shut out: the tenant's users elsewhere sign in with encrypted assertions.
    const elsewhere = await post(await encrypted("colleague@corp.example"), "198.51.100.20");
    expect(elsewhere.status).toBe(303);
    expect(sessionCookieOf(elsewhere)).toBeDefined();
    // And a plain assertion uses no key: the attacker's address is not refused those.
    const unencrypted = await post(await plain("plain-at-attacker-ip@corp.example"), attacker);
    expect(unencrypted.status).toBe(303);
  });

  it("start again from zero after an assertion from that address decrypts", async () => {
    const flaky = "198.51.100.44";
    for (let i = 1; i <= 9; i++) await post(await edited(), flaky);
    expect((await post(await encrypted("flaky-1@corp.example"), flaky)).status).toBe(303);
    for (let i = 1; i <= 9; i++) await post(await edited(), flaky);
    expect(await lastReason()).toBe("decryption_failed");
    expect((await post(await encrypted("flaky-2@corp.example"), flaky)).status).toBe(303);
  });
});
