// Encryption downgrade: where a connection requires encrypted assertions, an attacker or a misconfigured IdP sends the assertion in plain, or a Response carrying both an EncryptedAssertion and a plain Assertion.
import supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { decodeResponse, tamper, type PostedResponse } from "../support/saml-idp";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, startSamlLogin, type SamlTenant } from "../support/saml-login";

let t: TestApp;
/** Requires encrypted assertions, allows IdP-initiated login, provisions just in time (an accepted response shows as a new user). */
let required: SamlTenant;
/** The default: plain or encrypted. */
let optional: SamlTenant;

beforeAll(async () => {
  t = await startTestApp();
  required = await setUpSamlTenant(t, { allowIdpInitiated: true, provisioning: "jit" });
  await t.api().patch(`/api/v1/tenants/${required.slug}/sso-connections/${required.connectionId}`).send({ requireEncryptedAssertions: true }).expect(200);
  optional = await setUpSamlTenant(t, { provisioning: "jit" });
});
afterAll(() => t.close());

const PLAIN_ASSERTION = /<saml:Assertion[\s\S]*<\/saml:Assertion>/;
const ENCRYPTED_ASSERTION = /<saml:EncryptedAssertion[\s\S]*<\/saml:EncryptedAssertion>/;

async function refusedFor(tenant: SamlTenant, form: PostedResponse, reason: string): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
  expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe(reason);
}

/**
 * One answer to one AuthnRequest, made twice by the IdP: the assertion encrypted, and the same kind of signed
 * assertion in plain (another user's), as an attacker holding a plain signed assertion would splice in.
 */
async function encryptedAndPlain(tenant: SamlTenant): Promise<{ form: PostedResponse; encrypted: string; plain: string }> {
  const { request, ...form } = await tenant.idp.answer(await startSamlLogin(t, tenant.slug), tenant.spMetadata, { user: { nameId: "user@corp.example" }, encrypt: {} });
  const plainResponse = await tenant.idp.respond(tenant.spMetadata, request, { user: { nameId: "ceo@corp.example" } });
  const encrypted = ENCRYPTED_ASSERTION.exec(decodeResponse(form.SAMLResponse))![0];
  return { form, encrypted, plain: PLAIN_ASSERTION.exec(decodeResponse(plainResponse))![0] };
}

describe("a plain assertion where encryption is required", () => {
  it("is refused when signed by the IdP and answering a real login", async () => {
    const form = await idpAnswer(t, required, { user: { nameId: "plain@corp.example" } });
    expect(decodeResponse(form.SAMLResponse)).toContain("plain@corp.example");
    await refusedFor(required, form, "assertion_not_encrypted");
  });

  it("is refused when the Response is signed over it as well", async () => {
    await refusedFor(required, await idpAnswer(t, required, { user: { nameId: "plain@corp.example" }, sign: "both" }), "assertion_not_encrypted");
  });

  it("is refused when unsolicited (IdP-initiated), on a connection that allows those", async () => {
    const SAMLResponse = await required.idp.respond(required.spMetadata, null, { user: { nameId: "plain@corp.example" } });
    await refusedFor(required, { SAMLResponse }, "assertion_not_encrypted");
    // The same IdP, encrypting, gets in: it is the plain assertion that is refused, not the IdP.
    const sealed = await postToAcs(t, required.slug, { SAMLResponse: await required.idp.respond(required.spMetadata, null, { user: { nameId: "sealed@corp.example" }, encrypt: {} }) });
    expect([sealed.status, sessionCookieOf(sealed) !== undefined]).toEqual([303, true]);
  });
});

describe("a Response with both an EncryptedAssertion and a plain Assertion", () => {
  it.each([
    ["the plain one first", (encrypted: string, plain: string) => plain + encrypted],
    ["the plain one last", (encrypted: string, plain: string) => encrypted + plain],
  ])("is refused where encryption is required, %s", async (_, order) => {
    const { form, encrypted, plain } = await encryptedAndPlain(required);
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(ENCRYPTED_ASSERTION, () => order(encrypted, plain)));
    await refusedFor(required, form, "assertion_not_encrypted");
  });

  it("is refused where encryption is required, the plain Assertion in a foreign namespace (node-saml matches by local name)", async () => {
    const { form, encrypted, plain } = await encryptedAndPlain(required);
    const foreign = plain.replace(/<(\/?)saml:Assertion/g, "<$1x:Assertion").replace("<x:Assertion ", '<x:Assertion xmlns:x="urn:example:not-saml" ');
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(ENCRYPTED_ASSERTION, () => encrypted + foreign));
    await refusedFor(required, form, "assertion_not_encrypted");
  });

  it("is refused where encryption is required, the plain Assertion hidden in samlp:Extensions", async () => {
    // Not the assertion anyone would sign in with, but one the IdP sent in the clear: refused all the same.
    const { form, encrypted, plain } = await encryptedAndPlain(required);
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(ENCRYPTED_ASSERTION, () => `<samlp:Extensions>${plain}</samlp:Extensions>${encrypted}`));
    await refusedFor(required, form, "assertion_not_encrypted");
  });

  it("is refused where encryption is optional too: which of the two would sign in is ambiguous", async () => {
    const { form, encrypted, plain } = await encryptedAndPlain(optional);
    form.SAMLResponse = tamper(form.SAMLResponse, (xml) => xml.replace(ENCRYPTED_ASSERTION, () => plain + encrypted));
    const before = await footprint(t, optional);
    await expectRefused(t, optional, await postToAcs(t, optional.slug, form), before);
    // node-saml refuses more than one assertion as a signature problem.
    expect((await failureReasons(t, optional.tenantId)).at(-1)).toBe("signature_invalid");
  });
});

describe("what the refusals leave", () => {
  it("no session for anyone named in a refused response, and the health of the connection counts each refusal", async () => {
    for (const email of ["plain@corp.example", "ceo@corp.example"]) {
      expect(await t.container.infra.db.user.count({ where: { tenantId: required.tenantId, email } })).toBe(0);
    }
    const health = (await supertest(t.app).get(`/api/v1/tenants/${required.slug}/sso-connections/${required.connectionId}`).set("Authorization", `Bearer ${t.adminToken}`).expect(200)).body.health;
    expect(health.failures.byReason).toEqual({ assertion_not_encrypted: 7 });
  });
});
