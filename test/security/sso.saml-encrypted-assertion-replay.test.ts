// An attacker who captured an encrypted response posts it again, or, holding the decrypted signed assertion
// (it was their own, or leaked from another SP), encrypts it afresh to the SP's public certificate so that
// the ciphertext looks new. Each assertion ID is accepted once, whatever the encryption around it.
import { AES256_CBC, TestSamlIdp } from "../support/saml-idp";
import { addSamlConnection, expectRefused, failureReasons, footprint, idpAnswer, postToAcs, sessionCookieOf, setUpSamlTenant, type SamlTenant } from "../support/saml-login";
import { startTestApp, type TestApp } from "../support/harness";

let t: TestApp;
let tenant: SamlTenant;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await setUpSamlTenant(t, { provisioning: "jit", allowIdpInitiated: true });
});
afterAll(() => t.close());

type Form = { SAMLResponse: string; RelayState?: string };

async function refusedFor(target: SamlTenant, form: Form, reason: string): Promise<void> {
  const before = await footprint(t, target);
  await expectRefused(t, target, await postToAcs(t, target.slug, form), before);
  expect((await failureReasons(t, target.tenantId)).at(-1)).toBe(reason);
}

async function accepted(target: SamlTenant, form: Form): Promise<void> {
  const res = await postToAcs(t, target.slug, form);
  expect([res.status, res.headers.location]).toEqual([303, "/account"]);
  expect(sessionCookieOf(res)).toBeDefined();
}

describe("the same encrypted response posted twice", () => {
  it("accepts an SP-initiated one once: its login flow is spent", async () => {
    // The attacker re-posts the victim's encrypted response right after the victim used it.
    const form = await idpAnswer(t, tenant, { user: { nameId: "victim@corp.example" }, encrypt: {} });
    await accepted(tenant, form);
    await refusedFor(tenant, form, "unknown_in_response_to");
  });

  it("accepts an IdP-initiated one once: its assertion ID is spent", async () => {
    // No flow to spend here: only the assertion ID, read from inside the ciphertext, stops the replay.
    const form = { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "victim@corp.example" }, encrypt: { content: AES256_CBC } }) };
    await accepted(tenant, form);
    await refusedFor(tenant, form, "replayed");
  });

  it("refuses the same signed assertion encrypted afresh, and the same assertion sent in plain", async () => {
    // New ciphertext, same assertion: the attacker hopes the replay cache keys on the bytes posted.
    const assertionId = `_replayed${Date.now()}`;
    const respond = (encrypt: object | undefined) => tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "victim@corp.example" }, set: { assertionId }, encrypt });
    const first = await respond({});
    const second = await respond({});
    expect(second).not.toBe(first);
    await accepted(tenant, { SAMLResponse: first });
    await refusedFor(tenant, { SAMLResponse: second }, "replayed");
    await refusedFor(tenant, { SAMLResponse: await respond(undefined) }, "replayed");
  });
});

describe("several connections in one tenant, chosen by Issuer", () => {
  it("logs in through the connection whose IdP encrypted the response, and refuses one IdP signing as the other", async () => {
    // Two IdPs share the tenant and the SP's encryption certificate; one must not speak for the other.
    const second = await addSamlConnection(t, tenant, { idp: new TestSamlIdp(), allowIdpInitiated: true, provisioning: "jit" });
    await accepted(second, { SAMLResponse: await second.idp.respond(second.spMetadata, null, { user: { nameId: "ana@two.example" }, encrypt: {} }) });
    const linked = await t.container.infra.db.externalIdentity.findMany({ where: { subject: { endsWith: "|ana@two.example" }, user: { tenantId: tenant.tenantId } } });
    expect(linked.map((row) => row.connectionId)).toEqual([second.connectionId]);
    // The first IdP's key signs an encrypted assertion issued in the second IdP's name.
    const forged = await second.idp.respond(second.spMetadata, null, { user: { nameId: "ana@two.example" }, encrypt: {}, signer: tenant.idp });
    await refusedFor(second, { SAMLResponse: forged }, "signature_invalid");
  });
});
