// Attack: the callback URL of an attacker's own pending OIDC login is delivered to a victim's browser that has logins of its own in flight, hoping one of the victim's flow bindings lets it through (login CSRF), or floods the browser with logins to push the binding cookie past any limit.
// Each browser may keep a few flows in flight (one per tab); a callback must find its own flow's binding
// in that browser's cookie, a refused callback must leave the victim's pending flows alone, and beyond the
// cap only the oldest flow is dropped.
import type { TestApp } from "../support/harness";
import { CookieBrowser, setCookiesOf } from "../support/login-helpers";
import type { TestOp } from "../support/oidc-op";
import { callbackFor, deliver, oidcTenant, outcomeOf, refused, sessionCookieOf, type OidcTenant } from "../support/oidc-login";
import { verifiedLogin, withOidcSso } from "../support/oidc-sso-setup";

let t: TestApp;
let op: TestOp;
withOidcSso((started) => void ({ t, op } = started));

const jitTenant = (): Promise<OidcTenant> => oidcTenant(t, op, { provisioning: "jit" });
const TXN = "gh_oidc_txn";
const emailsOf = async (tenant: OidcTenant) =>
  (await t.container.infra.db.user.findMany({ where: { tenantId: tenant.tenantId }, orderBy: { email: "asc" } })).map((user) => user.email);
const transactionSetBy = (res: Awaited<ReturnType<typeof deliver>>) => setCookiesOf(res).find((cookie) => cookie.name.endsWith(TXN));

describe("a callback delivered to another browser", () => {
  it("is refused even when that browser has logins of its own in flight, and those still finish", async () => {
    const tenant = await jitTenant();
    const victim = new CookieBrowser(t.app);
    const victimFlows = [await callbackFor(op, victim, tenant.slug, verifiedLogin("victim")), await callbackFor(op, victim, tenant.slug, verifiedLogin("victim"))];
    const planted = await callbackFor(op, new CookieBrowser(t.app), tenant.slug, verifiedLogin("mallory"));

    const res = await deliver(victim, planted);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "browser_mismatch"));
    // The planted URL cancels none of the victim's logins: the victim's cookie is not touched.
    expect(transactionSetBy(res)).toBeUndefined();

    for (const callback of victimFlows) expect((await deliver(victim, callback)).status).toBe(303);
    expect(await emailsOf(tenant)).toEqual(["victim@oidc.example"]);
  });

  it("is refused from the attacker's browser full of its own bindings", async () => {
    // The attacker holds the binding cookie of several flows and steals the victim's callback URL.
    const tenant = await jitTenant();
    const stolen = await callbackFor(op, new CookieBrowser(t.app), tenant.slug, verifiedLogin("victim"));
    const attacker = new CookieBrowser(t.app);
    for (let i = 0; i < 4; i++) await callbackFor(op, attacker, tenant.slug, verifiedLogin("mallory"));
    const res = await deliver(attacker, stolen);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "browser_mismatch"));
  });

  it("is refused with the victim's binding cookie but another browser id", async () => {
    // The transaction cookie alone does not bind: it must come with the browser id the flow began under.
    const tenant = await jitTenant();
    const victim = new CookieBrowser(t.app);
    const callback = await callbackFor(op, victim, tenant.slug, verifiedLogin("victim"));
    const attacker = new CookieBrowser(t.app);
    await attacker.get("/login");
    for (const [name, value] of victim.cookies) if (name.endsWith(TXN)) attacker.cookies.set(name, value);
    const res = await deliver(attacker, callback);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "browser_mismatch"));
  });
});

describe("the flows of one browser", () => {
  it("are each single use: replaying a finished tab's callback is refused and the other tab still signs in", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const first = await callbackFor(op, browser, tenant.slug, verifiedLogin("tabs"));
    const second = await callbackFor(op, browser, tenant.slug, verifiedLogin("tabs"));
    expect((await deliver(browser, first)).status).toBe(303);
    const replay = await deliver(browser, first);
    expect(replay.status).toBe(400);
    expect(sessionCookieOf(replay)).toBeUndefined();
    expect((await deliver(browser, second)).status).toBe(303);
  });

  it("beyond the cap lose the oldest only: the first of six is refused, the five newer sign in", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callbacks: URL[] = [];
    for (let i = 0; i < 6; i++) callbacks.push(await callbackFor(op, browser, tenant.slug, verifiedLogin("many-tabs")));
    const oldest = await deliver(browser, callbacks[0]!);
    expect(await outcomeOf(t, tenant, oldest)).toEqual(refused(400, "browser_mismatch"));
    for (const callback of callbacks.slice(1).reverse()) {
      const res = await deliver(browser, callback);
      expect({ status: res.status, session: sessionCookieOf(res) !== undefined }).toEqual({ status: 303, session: true });
    }
  });

  it("keep the binding cookie bounded however many logins a page starts", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    for (let i = 0; i < 25; i++) await browser.get(`/sso/${tenant.slug}/start`);
    const value = [...browser.cookies].find(([name]) => name.endsWith(TXN))?.[1] ?? "";
    expect(value.split(".")).toHaveLength(5);
    expect(value.length).toBeLessThanOrEqual(5 * 44);
  });
});

describe("a tampered binding cookie", () => {
  it("counts as none: a 4xx refusal, never an error page or a sign-in", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, verifiedLogin("tamper"));
    const name = [...browser.cookies.keys()].find((cookie) => cookie.endsWith(TXN))!;
    const genuine = browser.cookies.get(name)!;
    // Its genuine binding hidden among more entries than we ever write.
    browser.cookies.set(name, [...Array<string>(6).fill("A".repeat(43)), genuine].join("."));
    const res = await deliver(browser, callback);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "browser_mismatch"));
  });
});
