// SSO logins begun in several tabs of one browser are independent: each callback finishes its own flow,
// whatever the order in which the tabs come back from the IdP; beyond the cap the oldest flow drops.
import { startTestApp, type TestApp } from "../../support/harness";
import { CookieBrowser } from "../../support/login-helpers";
import type { TestOp } from "../../support/oidc-op";
import { callbackFor, deliver, failureReasons, oidcTenant, sessionCookieOf, type OidcTenant } from "../../support/oidc-login";
import { verifiedLogin, withOidcSso } from "../../support/oidc-sso-setup";

let t: TestApp;
let op: TestOp;
withOidcSso((started) => void ({ t, op } = started));

const jitTenant = (): Promise<OidcTenant> => oidcTenant(t, op, { provisioning: "jit" });

/** Begins one login per return_to in `browser` (tab after tab) and signs in at the OP for each; the callbacks are not yet followed. */
async function pendingFlows(browser: CookieBrowser, slug: string, tabs: string[]): Promise<URL[]> {
  const callbacks: URL[] = [];
  for (const tab of tabs) callbacks.push(await callbackFor(op, browser, slug, verifiedLogin("two-tabs"), `/account?tab=${tab}`));
  return callbacks;
}

/** Follows one callback: a signed-in tab lands on its own return_to with a session cookie. */
async function finish(browser: CookieBrowser, callback: URL) {
  const res = await deliver(browser, callback);
  return { status: res.status, location: res.headers.location as string | undefined, session: sessionCookieOf(res) !== undefined };
}

const signedIn = (tab: string) => ({ status: 303, location: `/account?tab=${tab}`, session: true });

describe("two logins begun in one browser", () => {
  it("both sign in when the tabs come back in reverse order", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const [first, second] = await pendingFlows(browser, tenant.slug, ["a", "b"]);
    expect(await finish(browser, second!)).toEqual(signedIn("b"));
    expect(await finish(browser, first!)).toEqual(signedIn("a"));
    expect(await failureReasons(t, tenant.tenantId)).toEqual([]);
    // Each callback took its own binding away; with no login left in flight the cookie is gone.
    expect([...browser.cookies.keys()].filter((name) => name.endsWith("gh_oidc_txn"))).toEqual([]);
  });

  it("both sign in when the tabs come back in order", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const [first, second] = await pendingFlows(browser, tenant.slug, ["a", "b"]);
    expect(await finish(browser, first!)).toEqual(signedIn("a"));
    expect(await finish(browser, second!)).toEqual(signedIn("b"));
    expect(await failureReasons(t, tenant.tenantId)).toEqual([]);
  });

  it("both sign in when they go to two tenants", async () => {
    const one = await jitTenant();
    const other = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const [first] = await pendingFlows(browser, one.slug, ["one"]);
    const [second] = await pendingFlows(browser, other.slug, ["other"]);
    expect(await finish(browser, first!)).toEqual(signedIn("one"));
    expect(await finish(browser, second!)).toEqual(signedIn("other"));
  });

  it("a login begun after another tab finished still signs in", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const [first] = await pendingFlows(browser, tenant.slug, ["a"]);
    expect(await finish(browser, first!)).toEqual(signedIn("a"));
    const [second] = await pendingFlows(browser, tenant.slug, ["b"]);
    expect(await finish(browser, second!)).toEqual(signedIn("b"));
  });
});

describe("many logins begun in one browser", () => {
  it("keeps the five newest: each of them signs in, in any order", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callbacks = await pendingFlows(browser, tenant.slug, ["1", "2", "3", "4", "5"]);
    for (const index of [2, 4, 0, 3, 1]) expect(await finish(browser, callbacks[index]!)).toEqual(signedIn(String(index + 1)));
    expect(await failureReasons(t, tenant.tenantId)).toEqual([]);
  });

  it("keeps the binding cookie small and its flags as for every cookie of ours", async () => {
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    await pendingFlows(browser, tenant.slug, ["1", "2", "3", "4", "5", "6", "7", "8"]);
    const res = await browser.get(`/sso/${tenant.slug}/start`);
    const header = ([] as string[]).concat(res.headers["set-cookie"] ?? []).find((cookie) => cookie.startsWith("gh_oidc_txn="));
    expect(header).toBeDefined();
    expect(header!.length).toBeLessThan(400);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Lax/);
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(/; Max-Age=600/);
  });

  it("over https keeps the __Host- prefix and Secure, and grows with each tab", async () => {
    const secure = await startTestApp({ PUBLIC_URL: "https://gatehouse.test" });
    try {
      const tenant = await oidcTenant(secure, op);
      const browser = new CookieBrowser(secure.app);
      let header: string | undefined;
      for (let i = 0; i < 2; i++) {
        const res = await browser.get(`/sso/${tenant.slug}/start`);
        header = ([] as string[]).concat(res.headers["set-cookie"] ?? []).find((cookie) => cookie.startsWith("__Host-gh_oidc_txn="));
      }
      expect(header).toMatch(/^__Host-gh_oidc_txn=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43};/);
      expect(header).toMatch(/; Path=\//);
      expect(header).toMatch(/; HttpOnly/);
      expect(header).toMatch(/; Secure/);
      expect(header).toMatch(/; SameSite=Lax/);
      expect(header).not.toMatch(/; Domain=/i);
    } finally {
      await secure.close();
    }
  });
});
