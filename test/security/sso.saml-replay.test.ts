// An attacker who captured a SAML response (browser history, a proxy log, a shoulder) posts it again, to the
// same instance or to another instance behind the load balancer, or answers a request this service never
// made (or made too long ago).
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../../src/platform/crypto";
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { decodeResponse } from "../support/saml-idp";
import { testRedisPrefix } from "../support/test-env";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, setUpSamlTenant, startSamlLogin, type SamlTenant } from "../support/saml-login";

let a: TestApp;
let b: TestApp;
let clock: ManualClock;
let tenant: SamlTenant;

beforeAll(async () => {
  // Two instances behind one load balancer: same database, same Redis key prefix.
  const shared = { REDIS_KEY_PREFIX: `${testRedisPrefix()}saml-replay-${randomBytes(3).toString("hex")}:` };
  clock = new ManualClock();
  a = await startTestApp(shared, clock);
  b = await startTestApp(shared, clock);
  tenant = await setUpSamlTenant(a, { provisioning: "jit", allowIdpInitiated: true });
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});
beforeEach(() => clock.advance(Date.now() - clock.now().getTime()));

async function refusedFor(app: TestApp, form: { SAMLResponse: string; RelayState?: string }, reason: string): Promise<void> {
  const before = await footprint(a, tenant);
  await expectRefused(app, tenant, await postToAcs(app, tenant.slug, form), before);
  expect((await failureReasons(a, tenant.tenantId)).at(-1)).toBe(reason);
}

describe("the same response posted twice", () => {
  it("accepts it once on one instance", async () => {
    // The attacker re-posts the victim's response right after the victim used it.
    const form = await idpAnswer(a, tenant, { user: { nameId: "victim@corp.example" } });
    expect((await postToAcs(a, tenant.slug, form)).status).toBe(303);
    await refusedFor(a, form, "unknown_in_response_to");
  });

  it("accepts it once across two instances sharing Redis", async () => {
    // The replay goes to the other instance, hoping its cache knows nothing of the first login.
    const form = await idpAnswer(a, tenant, { user: { nameId: "victim@corp.example" } });
    expect((await postToAcs(a, tenant.slug, form)).status).toBe(303);
    await refusedFor(b, form, "unknown_in_response_to");
  });

  it("lets exactly one of two concurrent posts through", async () => {
    // Both copies race to two instances at the same moment.
    const form = await idpAnswer(a, tenant, { user: { nameId: "racer@corp.example" } });
    const results = await Promise.all([postToAcs(a, tenant.slug, form), postToAcs(b, tenant.slug, form)]);
    expect(results.map((r) => r.status).sort()).toEqual([303, 400]);
  });

  it("refuses a replayed IdP-initiated response by its assertion ID, on either instance", async () => {
    // Unsolicited responses have no request to use up: the assertion ID cache is what stops them.
    const form = { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, null, { user: { nameId: "idp-victim@corp.example" } }) };
    expect((await postToAcs(b, tenant.slug, form)).status).toBe(303);
    await refusedFor(a, form, "replayed");
    await refusedFor(b, form, "replayed");
    // The accepted ID is remembered in Redis until the assertion would be refused as expired anyway.
    const assertionId = /<saml:Assertion [^>]*ID="([^"]+)"/.exec(decodeResponse(form.SAMLResponse))![1]!;
    const ttl = await a.container.infra.kv.ttl(`saml-assertion:${tenant.connectionId}:${sha256Hex(assertionId)}`);
    // At most 5 minutes of age plus 2 of skew after issue; the service's clock stood still since the test began.
    expect(ttl).toBeGreaterThan(60 * 1000);
    expect(ttl).toBeLessThanOrEqual(7 * 60 * 1000 + 30 * 1000);
  });
});

describe("unknown or expired InResponseTo", () => {
  it("refuses a response to a request this service never issued", async () => {
    // The attacker makes up a request ID (or takes one from another SP).
    const request = { requestId: `_${randomBytes(20).toString("hex")}` };
    await refusedFor(a, { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, request, { user: { nameId: "victim@corp.example" } }) }, "unknown_in_response_to");
  });

  it("refuses a response to a request older than the flow's 10 minutes", async () => {
    // A login started long ago and abandoned; its answer shows up later.
    const location = await startSamlLogin(a, tenant.slug);
    clock.advance(11 * 60 * 1000);
    const answer = await tenant.idp.answer(location, tenant.spMetadata, { user: { nameId: "victim@corp.example" } });
    await refusedFor(a, answer, "in_response_to_expired");
  });

  it("refuses a response answering another tenant's request", async () => {
    // The request ID is real, but it was issued for a different tenant.
    const other = await setUpSamlTenant(a, { idp: tenant.idp, provisioning: "jit" });
    const request = await other.idp.parseAuthnRequest(await startSamlLogin(a, other.slug), other.spMetadata);
    const form = { SAMLResponse: await tenant.idp.respond(tenant.spMetadata, request, { user: { nameId: "victim@corp.example" } }) };
    await refusedFor(a, form, "unknown_in_response_to");
  });
});
