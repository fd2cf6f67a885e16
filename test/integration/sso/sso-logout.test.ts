// Logging out of an SSO session ends the Gatehouse session first, then continues at the IdP's logout
// endpoint when it has one (OIDC end_session), so the next SSO login asks the user again.
import supertest from "supertest";
import { startTestApp, type TestApp } from "../../support/harness";
import { CookieBrowser, createUser, PASSWORD, signInSkippingMfa } from "../../support/login-helpers";
import { GATEHOUSE_URL, oidcLogin, oidcTenant } from "../../support/oidc-login";
import { startTestOp, type TestOp } from "../../support/oidc-op";

let t: TestApp;
let op: TestOp;

beforeAll(async () => {
  op = await startTestOp();
  t = await startTestApp({ PUBLIC_URL: GATEHOUSE_URL });
});
afterAll(async () => {
  await t.close();
  await op.close();
});

describe("logout of an OIDC session", () => {
  it("ends the local session, then sends the browser to the IdP's end_session endpoint with the ID token hint", async () => {
    const tenant = await oidcTenant(t, op);
    await createUser(t, tenant.slug, { email: "lou@logout.example", kind: "member" });
    const { browser, res } = await oidcLogin(t, op, tenant.slug, { account: { sub: "lou", email: "lou@logout.example", email_verified: true } });
    expect(res.status).toBe(303);
    const cookie = `gh_session=${browser.cookies.get("gh_session")}`;
    expect((await supertest(t.app).get("/authz").set("Cookie", cookie)).status).toBe(200);

    await browser.get("/account");
    const out = await browser.post("/logout", {});
    expect(out.status).toBe(303);
    const location = new URL(String(out.headers.location));
    const discovery = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as { end_session_endpoint: string };
    expect(location.origin + location.pathname).toBe(discovery.end_session_endpoint);
    expect(location.searchParams.get("client_id")).toBe(tenant.clientId);
    expect(location.searchParams.get("id_token_hint")?.split(".")).toHaveLength(3);
    expect((await supertest(t.app).get("/authz").set("Cookie", cookie)).status).toBe(401);
  });

  it("a password session logs out to /login as before", async () => {
    const tenant = await oidcTenant(t, op);
    await createUser(t, tenant.slug, { email: "pat@logout.example" });
    const browser = new CookieBrowser(t.app);
    await signInSkippingMfa(browser, { tenant: tenant.slug, email: "pat@logout.example", password: PASSWORD });
    await browser.get("/account");
    const out = await browser.post("/logout", {});
    expect(out.headers.location).toBe("/login");
  });
});
