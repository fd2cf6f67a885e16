// A product app on openid-client signs users in through Gatehouse's OpenID provider: regional local login
// with TOTP, the ID token's claims verified against the published keys, single sign-on on the next visit.
import * as oidc from "openid-client";
import { ManualClock } from "../../../src/platform/clock";
import { oathtoolCode } from "../../support/browser";
import { CookieBrowser, PASSWORD, STEP_MS } from "../../support/login-helpers";
import { errorOf, loginThroughApp, redeem, returnToOf, userWithTotp } from "../../support/product-app-login";
import {
  authorizationRequest, followWithinGatehouse, rpConfiguration, startListeningApp, startTestRp, verifyWithJwks, type RegisteredApp, type TestRp,
} from "../../support/relying-party";

let t: Awaited<ReturnType<typeof startListeningApp>>;
let rp: TestRp;
let app: RegisteredApp;
let config: oidc.Configuration;
const clock = new ManualClock();

beforeAll(async () => {
  t = await startListeningApp({}, clock);
  rp = await startTestRp();
  app = await rp.register(t);
  config = await rpConfiguration(t.publicUrl, app);
});
afterAll(async () => {
  await rp.close();
  await t.close();
});

describe("authorization code flow through the regional local login", () => {
  it("ends with an ID token the app verifies, carrying who signed in and how", async () => {
    const user = await userWithTotp(t, clock);
    const { request, callback } = await loginThroughApp(t, config, app, user, clock);
    expect(callback.origin + callback.pathname).toBe(app.redirectUri);
    expect(callback.searchParams.get("iss")).toBe(`${t.publicUrl}/oidc`);

    const tokens = await redeem(config, request, callback);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: `${t.publicUrl}/oidc`, aud: app.clientId, sub: user.userId, email: user.email, name: "Ada Lovelace", tenant: user.slug, region: "us",
      acr: "aal2", nonce: request.nonce,
    });
    expect(claims.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(typeof claims.auth_time).toBe("number");
    expect(claims.sid).toEqual(expect.any(String));

    // Independently of openid-client: the signature verifies against the published key set.
    const verified = await verifyWithJwks(t.publicUrl, tokens.id_token!, app.clientId);
    expect(verified.sub).toBe(user.userId);
    const header = JSON.parse(Buffer.from(tokens.id_token!.split(".")[0]!, "base64url").toString("utf8")) as { alg: string; kid: string };
    expect(header.alg).toBe("RS256");

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, user.userId);
    expect(userinfo).toMatchObject({ sub: user.userId, email: user.email, tenant: user.slug });
  });

  it("signs the user in again without a login page while the Gatehouse session lives (one session)", async () => {
    const user = await userWithTotp(t, clock);
    const { browser } = await loginThroughApp(t, config, app, user, clock);
    const again = await authorizationRequest(config, app);
    const { leftTo } = await followWithinGatehouse(browser, t.publicUrl, again.url);
    expect(leftTo?.searchParams.get("code")).toEqual(expect.any(String));
    const tokens = await redeem(config, again, leftTo!);
    expect(tokens.claims()?.sub).toBe(user.userId);
  });

  it("sends a browser without a session to /login for the tenant it names, coming back to the interaction", async () => {
    const request = await authorizationRequest(config, app, { tenant: "acme-corp" });
    const browser = new CookieBrowser(t.app);
    const auth = await browser.get(request.url.pathname + request.url.search);
    expect(auth.status).toBe(303);
    const interaction = String(auth.headers.location);
    expect(interaction).toMatch(/^\/oidc\/interaction\/[\w-]+$/);
    const toLogin = await browser.get(interaction);
    expect(toLogin.status).toBe(303);
    const location = new URL(String(toLogin.headers.location), t.publicUrl);
    expect(location.pathname).toBe("/login");
    expect(location.searchParams.get("tenant")).toBe("acme-corp");
    expect(location.searchParams.get("return_to")).toBe(interaction);
  });

  it("carries the app's login_hint through /login to the regional form, where it prefills the email", async () => {
    const request = await authorizationRequest(config, app, { tenant: "acme-corp", login_hint: "ann@acme.example" });
    const browser = new CookieBrowser(t.app);
    const interaction = String((await browser.get(request.url.pathname + request.url.search)).headers.location);
    const toLogin = new URL(String((await browser.get(interaction)).headers.location), t.publicUrl);
    expect(toLogin.searchParams.get("login_hint")).toBe("ann@acme.example");
    const toRegion = new URL(String((await browser.get(toLogin.pathname + toLogin.search)).headers.location), t.publicUrl);
    expect(toRegion.searchParams.get("login_hint")).toBe("ann@acme.example");
    const form = await browser.get(toRegion.pathname + toRegion.search);
    expect(form.text).toMatch(/<input id="email" name="email" type="email"[^>]*value="ann@acme\.example"/);
  });

  it("after the login form posts, continues to the app through a refresh page, not a redirect chain", async () => {
    // A redirect chain started by a form post runs under that page's CSP form-action 'self': browsers would stop it at the app.
    const user = await userWithTotp(t, clock);
    const browser = new CookieBrowser(t.app);
    const request = await authorizationRequest(config, app, { tenant: user.slug });
    const form = (await followWithinGatehouse(browser, t.publicUrl, request.url)).res!;
    await browser.post("/us/login", { tenant: user.slug, email: user.email, password: PASSWORD, return_to: returnToOf(form) });
    await browser.get("/us/login/mfa");
    const mfa = await browser.post("/us/login/mfa", { code: oathtoolCode(user.secret, clock.now()) });
    clock.advance(STEP_MS);
    expect(String(mfa.headers.location)).toMatch(/^\/oidc\/interaction\//);

    const page = await browser.get(String(mfa.headers.location), { "Sec-Fetch-Site": "same-origin" });
    expect(page.status).toBe(200);
    expect(page.headers["cache-control"]).toBe("no-store");
    const target = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(page.text)?.[1];
    expect(target).toMatch(new RegExp(`^${t.publicUrl}/oidc/auth/`));
    const { leftTo } = await followWithinGatehouse(browser, t.publicUrl, target!.replaceAll("&amp;", "&"));
    expect((await redeem(config, request, leftTo!)).claims()?.sub).toBe(user.userId);
  });

  it("answers an expired or unknown interaction with a page, not a redirect", async () => {
    const res = await new CookieBrowser(t.app).get("/oidc/interaction/does-not-exist");
    expect(res.status).toBe(400);
    expect(res.text).toContain("Sign-in expired");
  });

  it("returns access_denied to the app when prompt=none finds no session", async () => {
    const request = await authorizationRequest(config, app, { prompt: "none" });
    const { leftTo } = await followWithinGatehouse(new CookieBrowser(t.app), t.publicUrl, request.url);
    expect(errorOf(leftTo!)).toBe("login_required");
  });
});
