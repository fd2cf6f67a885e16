// An attacker replays an old captured response, or one stamped for the future, hoping the service does not
// look at its time window; the service allows 2 minutes of clock skew and at most 5 minutes of age.
import { ManualClock, startTestApp, type TestApp } from "../support/harness";
import { expectRefused, failureReasons, footprint, idpAnswer, postToAcs, setUpSamlTenant, type SamlTenant } from "../support/saml-login";

const MINUTE = 60 * 1000;
let t: TestApp;
let tenant: SamlTenant;
let clock: ManualClock;

beforeAll(async () => {
  clock = new ManualClock();
  t = await startTestApp({}, clock);
  tenant = await setUpSamlTenant(t, { provisioning: "jit" });
});
afterAll(() => t.close());
// Each test starts with the service's clock on real time (the IdP and node-saml read the real one).
beforeEach(() => clock.advance(Date.now() - clock.now().getTime()));

const ago = (ms: number) => new Date(Date.now() - ms);
const ahead = (ms: number) => new Date(Date.now() + ms);

async function refusedFor(form: { SAMLResponse: string; RelayState?: string }, reason: string): Promise<void> {
  const before = await footprint(t, tenant);
  await expectRefused(t, tenant, await postToAcs(t, tenant.slug, form), before);
  expect((await failureReasons(t, tenant.tenantId)).at(-1)).toBe(reason);
}

const user = { nameId: "late@corp.example" };

describe("expired", () => {
  it("refuses an assertion past its Conditions NotOnOrAfter (beyond the skew)", async () => {
    // A response captured yesterday, presented today.
    await refusedFor(await idpAnswer(t, tenant, { user, set: { issueInstant: ago(4 * MINUTE), notBefore: ago(5 * MINUTE), notOnOrAfter: ago(3 * MINUTE) } }), "expired");
  });

  it("refuses a bearer confirmation past its NotOnOrAfter", async () => {
    // The conditions are generous but the confirmation window (how long it may be delivered) is over.
    await refusedFor(await idpAnswer(t, tenant, { user, set: { subjectNotOnOrAfter: ago(3 * MINUTE) } }), "expired");
  });

  it("refuses an assertion that expired by the service's own clock", async () => {
    // The response was fine when made; it arrives after its window closed (here: the service's clock moved 4 minutes).
    const form = await idpAnswer(t, tenant, { user, set: { notOnOrAfter: ahead(MINUTE), subjectNotOnOrAfter: ahead(MINUTE) } });
    clock.advance(4 * MINUTE);
    await refusedFor(form, "expired");
  });

  it("refuses an assertion issued longer ago than the maximum age, whatever its NotOnOrAfter", async () => {
    // The IdP grants an hour; the service accepts assertions issued in the last 5 minutes only.
    await refusedFor(await idpAnswer(t, tenant, { user, set: { issueInstant: ago(8 * MINUTE), notOnOrAfter: ahead(60 * MINUTE), subjectNotOnOrAfter: ahead(60 * MINUTE) } }), "too_old");
  });

  it("refuses the same by the service's clock", async () => {
    const form = await idpAnswer(t, tenant, { user, set: { notOnOrAfter: ahead(60 * MINUTE), subjectNotOnOrAfter: ahead(60 * MINUTE) } });
    clock.advance(8 * MINUTE);
    await refusedFor(form, "too_old");
  });

  it("accepts an assertion within the allowed skew", async () => {
    // Not an attack: an IdP whose clock is a minute ahead is still served.
    const form = await idpAnswer(t, tenant, { user: { nameId: "skewed@corp.example" }, set: { issueInstant: ahead(MINUTE), notBefore: ahead(MINUTE), authnInstant: ahead(MINUTE) } });
    expect((await postToAcs(t, tenant.slug, form)).status).toBe(303);
  });
});

describe("not yet valid", () => {
  it("refuses an assertion whose NotBefore is beyond the skew", async () => {
    // Pre-minted for later use: NotBefore 10 minutes ahead.
    await refusedFor(await idpAnswer(t, tenant, { user, set: { notBefore: ahead(10 * MINUTE), notOnOrAfter: ahead(20 * MINUTE) } }), "not_yet_valid");
  });

  it("refuses an assertion issued in the future", async () => {
    await refusedFor(await idpAnswer(t, tenant, { user, set: { issueInstant: ahead(10 * MINUTE) } }), "not_yet_valid");
  });

  it("refuses it by the service's clock too", async () => {
    // The service's clock is 5 minutes behind the IdP's: beyond the allowed skew.
    const form = await idpAnswer(t, tenant, { user });
    clock.advance(-5 * MINUTE);
    await refusedFor(form, "not_yet_valid");
  });
});
