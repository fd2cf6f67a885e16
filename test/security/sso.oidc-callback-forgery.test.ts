// Attack: forged, replayed or misdirected OIDC callbacks (login CSRF, stolen callback URLs, code
// injection, IdP mix-up) used to sign a victim in as the attacker, or the attacker in as the victim.
// Every refusal must be a 4xx page: no redirect, no session cookie, no user created (the tenants here
// provision just in time, so a check that let the callback through would create one), the reason audited.
import type { TestApp } from "../support/harness";
import { CookieBrowser } from "../support/login-helpers";
import type { TestOp } from "../support/oidc-op";
import { callbackFor, deliver, GATEHOUSE_URL, oidcTenant, outcomeOf, refused, type OidcTenant } from "../support/oidc-login";
import { verifiedLogin, withOidcSso } from "../support/oidc-sso-setup";

let t: TestApp;
let op: TestOp;
withOidcSso((started) => void ({ t, op } = started));

const login = (sub = "mallory") => verifiedLogin(sub);
const jitTenant = (): Promise<OidcTenant> => oidcTenant(t, op, { provisioning: "jit" });
const withParam = (url: URL, name: string, value: string | null) => {
  const copy = new URL(url);
  if (value === null) copy.searchParams.delete(name);
  else copy.searchParams.set(name, value);
  return copy;
};

describe("state", () => {
  it("is required", async () => {
    // Attack: a crafted callback carrying a code but no state, hoping the RP accepts unsolicited responses.
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, login());
    const res = await deliver(browser, withParam(callback, "state", null));
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "state_missing"));
  });

  it("must name a flow this server began", async () => {
    // Attack: a guessed or tampered state value.
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, login());
    const res = await deliver(browser, withParam(callback, "state", "x".repeat(43)));
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "state_unknown"));
  });

  it("must belong to this tenant", async () => {
    // Attack: a state and code obtained from another tenant's login, delivered to this tenant's callback.
    const tenant = await jitTenant();
    const other = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const foreign = await callbackFor(op, browser, other.slug, login());
    const res = await deliver(browser, new URL(`${GATEHOUSE_URL}/sso/${tenant.slug}/oidc/callback${foreign.search}`));
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "state_mismatch"));
    expect(await outcomeOf(t, other, res)).toMatchObject({ users: 0 });
  });
});

describe("the browser binding", () => {
  it("refuses a callback finished in another browser (login CSRF)", async () => {
    // Attack: the attacker starts a login, signs in at the IdP as themself and makes the victim's browser open the callback URL, so the victim works in the attacker's account.
    const tenant = await jitTenant();
    const attacker = new CookieBrowser(t.app);
    const callback = await callbackFor(op, attacker, tenant.slug, login("mallory"));
    const victim = new CookieBrowser(t.app);
    await victim.get("/login"); // the victim has a browser id cookie of their own
    const res = await deliver(victim, callback);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "browser_mismatch"));
    // The flow is spent: the attacker cannot finish it afterwards either.
    const late = await deliver(attacker, callback);
    expect(await outcomeOf(t, tenant, late)).toMatchObject({ status: 400, session: false, users: 0 });
  });

  it("refuses a stolen callback URL replayed from the attacker's browser", async () => {
    // Attack: the victim's callback URL leaks (logs, Referer, shoulder-surfing) before the victim's browser uses it; the attacker opens it first.
    const tenant = await jitTenant();
    const victim = new CookieBrowser(t.app);
    const callback = await callbackFor(op, victim, tenant.slug, login("victim"));
    const res = await deliver(new CookieBrowser(t.app), callback);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "browser_mismatch"));
  });

  it("needs the short-lived transaction cookie, not only the long-lived browser id", async () => {
    // Attack: the attacker knows or shares the victim's browser id (a shared kiosk profile) but not the cookie of this transaction.
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, login());
    const transaction = [...browser.cookies.keys()].find((name) => name.endsWith("gh_oidc_txn"));
    expect(transaction).toBeDefined();
    browser.cookies.delete(transaction!);
    const res = await deliver(browser, callback);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "browser_mismatch"));
  });
});

describe("the authorization code", () => {
  it("is redeemed once: the same callback URL a second time is refused", async () => {
    // Attack: the callback URL is replayed (back button, proxy log, history) to obtain a second session.
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, login("replayer"));
    const first = await deliver(browser, callback);
    expect(first.status).toBe(303);
    const tokenCalls = op.count("/token");
    const again = await deliver(browser, callback);
    expect(await outcomeOf(t, tenant, again)).toEqual({ status: 400, redirect: undefined, session: false, users: 1, reasons: ["state_unknown"] });
    expect(op.count("/token")).toBe(tokenCalls); // refused before the code was sent anywhere
  });

  it("cannot be injected into another flow: PKCE binds it to the request that obtained it", async () => {
    // Attack: the attacker grafts a victim's stolen code onto a callback of a flow the attacker began (own state, own cookies).
    const tenant = await jitTenant();
    const stolen = await callbackFor(op, new CookieBrowser(t.app), tenant.slug, login("victim"));
    const attacker = new CookieBrowser(t.app);
    const own = await callbackFor(op, attacker, tenant.slug, login("mallory"));
    const res = await deliver(attacker, withParam(own, "code", stolen.searchParams.get("code")));
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "code_rejected"));
  });
});

describe("the authorization response", () => {
  it("refuses an IdP error answer", async () => {
    // Attack surface: an error= response (user cancelled, IdP policy) must end the flow, not fall through to a login.
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, { error: "access_denied", description: "user cancelled" });
    expect(callback.searchParams.get("error")).toBe("access_denied");
    const res = await deliver(browser, callback);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "idp_error"));
    expect(res.text).toContain("Single sign-on failed");
  });

  it("refuses a response naming another issuer (RFC 9207 mix-up)", async () => {
    // Attack: IdP mix-up: a response obtained from another (attacker-controlled) IdP is passed off as coming from this tenant's IdP.
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, login());
    expect(callback.searchParams.get("iss")).toBe(op.issuer); // the OP advertises and sends iss
    const res = await deliver(browser, withParam(callback, "iss", "https://evil.example"));
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "iss_mismatch"));
  });

  it("refuses a response without iss from an IdP that advertises sending it", async () => {
    // Attack: the mix-up attacker strips the iss parameter so that it cannot be compared.
    const tenant = await jitTenant();
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(op, browser, tenant.slug, login());
    const res = await deliver(browser, withParam(callback, "iss", null));
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "iss_missing"));
  });
});
