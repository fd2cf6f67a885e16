// The relying party reads each IdP's discovery document once per hour, not on every login; when the
// IdP cannot be discovered the login fails with a clear page and the failure is audited.
import { ManualClock, startTestApp, type TestApp } from "../../support/harness";
import { CookieBrowser } from "../../support/login-helpers";
import { startTestOp, type TestOp } from "../../support/oidc-op";
import { callbackFor, deliver, failureReasons, GATEHOUSE_URL, oidcLogin, oidcTenant, outcomeOf, refused } from "../../support/oidc-login";
import { verifiedLogin } from "../../support/oidc-sso-setup";
import { systemClock } from "../../../src/platform/clock";
import { DISCOVERY_TTL_MS, createIssuerCache } from "../../../src/sso/oidc/oidc-issuers";

const DISCOVERY = "/.well-known/openid-configuration";
const clock = new ManualClock();
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: GATEHOUSE_URL }, clock);
});
afterAll(async () => {
  await t.close();
});

describe("the discovery cache", () => {
  let op: TestOp;
  beforeAll(async () => {
    op = await startTestOp();
  });
  afterAll(() => op.close());

  it("fetches an issuer's discovery document and key set once for several logins, and again after an hour", async () => {
    const tenant = await oidcTenant(t, op, { provisioning: "jit" });
    const other = await oidcTenant(t, op, { provisioning: "jit" }); // another connection to the same issuer
    const afterSave = op.count(DISCOVERY); // the admin API checked discovery on save, outside the cache

    expect((await oidcLogin(t, op, tenant.slug, verifiedLogin("first"))).res.status).toBe(303);
    expect((await oidcLogin(t, op, tenant.slug, verifiedLogin("second"))).res.status).toBe(303);
    expect((await oidcLogin(t, op, other.slug, verifiedLogin("third"))).res.status).toBe(303);
    expect(op.count(DISCOVERY)).toBe(afterSave + 1);
    expect(op.count("/jwks")).toBe(1);

    clock.advance(DISCOVERY_TTL_MS + 1000);
    expect((await oidcLogin(t, op, tenant.slug, verifiedLogin("fourth"))).res.status).toBe(303);
    expect(op.count(DISCOVERY)).toBe(afterSave + 2);
  });
});

describe("an IdP that cannot be discovered", () => {
  let op: TestOp;
  beforeAll(async () => {
    op = await startTestOp();
  });
  afterAll(() => op.close());
  afterEach(() => op.failDiscovery(false));

  it("fails the start with a 503 page (no redirect) and audits discovery_failed; the next try fetches again", async () => {
    const tenant = await oidcTenant(t, op);
    op.failDiscovery(true);
    const browser = new CookieBrowser(t.app);
    const res = await browser.get(`/sso/${tenant.slug}/start`);
    expect(res.status).toBe(503);
    expect(res.headers.location).toBeUndefined();
    expect(res.text).toContain("identity provider cannot be reached");
    expect(await failureReasons(t, tenant.tenantId)).toEqual(["discovery_failed"]);

    op.failDiscovery(false);
    expect((await browser.get(`/sso/${tenant.slug}/start`)).status).toBe(303);
  });

  it("refuses a callback when the document expired meanwhile and cannot be fetched again", async () => {
    const tenant = await oidcTenant(t, op, { provisioning: "jit" });
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, verifiedLogin("late"));
    clock.advance(DISCOVERY_TTL_MS + 1000);
    op.failDiscovery(true);
    const res = await deliver(browser, callback);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "discovery_failed"));
  });

  it("refuses plain-http issuers when http is not allowed (production)", async () => {
    const strict = createIssuerCache({ clock: systemClock, allowHttp: false });
    await expect(strict.get(op.issuer, "client")).rejects.toMatchObject({ code: "oidc_discovery_failed" });
    const lax = createIssuerCache({ clock: systemClock, allowHttp: true });
    await expect(lax.get(op.issuer, "client")).resolves.toMatchObject({ metadata: { issuer: op.issuer } });
  });
});
