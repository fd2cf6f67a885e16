// One session, not two: ending the Gatehouse session ends what product apps hold through it (back-channel
// logout tokens, refresh tokens), and logging out at an app (RP-initiated) ends the Gatehouse session.
import * as oidc from "openid-client";
import supertest from "supertest";
import { ManualClock } from "../../../src/platform/clock";
import { loginThroughApp, redeem, userWithTotp } from "../../support/product-app-login";
import { followWithinGatehouse, rpConfiguration, startListeningApp, startTestRp, verifyWithJwks, type RegisteredApp, type TestRp } from "../../support/relying-party";

let t: Awaited<ReturnType<typeof startListeningApp>>;
let rp: TestRp;
let app: RegisteredApp;
let config: oidc.Configuration;
const clock = new ManualClock();

beforeAll(async () => {
  t = await startListeningApp({}, clock);
  rp = await startTestRp();
  app = await rp.register(t, { refreshTokens: true });
  config = await rpConfiguration(t.publicUrl, app);
});
afterAll(async () => {
  await rp.close();
  await t.close();
});

const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";

async function signedIn() {
  const user = await userWithTotp(t, clock);
  const { browser, request, callback } = await loginThroughApp(t, config, app, user, clock);
  const tokens = await redeem(config, request, callback);
  return { user, browser, tokens };
}

const refreshError = (refreshToken: string) =>
  oidc.refreshTokenGrant(config, refreshToken).then(
    () => null,
    (error: unknown) => (error as { error?: string }).error ?? String(error),
  );

describe("logout at Gatehouse", () => {
  it("POSTs a logout token to the app's back-channel URI that verifies against the published keys", async () => {
    const { user, browser, tokens } = await signedIn();
    const logout = await browser.post("/logout", {});
    expect(logout.status).toBe(303);

    const logoutToken = await rp.nextLogoutToken();
    const claims = await verifyWithJwks(t.publicUrl, logoutToken, app.clientId, "logout+jwt");
    expect(claims.sub).toBe(user.userId);
    expect(claims.sid).toBe(tokens.claims()!.sid);
    expect(claims.events).toEqual({ [BACKCHANNEL_EVENT]: {} });
    expect(claims.jti).toEqual(expect.any(String));
    // A logout token is not an ID token: no nonce (OpenID Back-Channel Logout 1.0, 2.4).
    expect(claims).not.toHaveProperty("nonce");

    expect(await refreshError(tokens.refresh_token!)).toBe("invalid_grant");
  });

  it("tries again when the app is down: the logout token arrives after the app answered 503 twice", async () => {
    const { user, browser } = await signedIn();
    rp.refuseLogouts(2);
    const before = rp.refusedLogouts();
    expect((await browser.post("/logout", {})).status).toBe(303);
    await t.container.oidcLogout.settled();
    expect(rp.refusedLogouts() - before).toBe(1);

    // Due again 1 s later, then 5 s after that (the defaults); the third attempt is accepted.
    clock.advance(1_000);
    await t.container.backchannelLogouts.drainOnce();
    expect(rp.refusedLogouts() - before).toBe(2);
    clock.advance(5_000);
    await t.container.backchannelLogouts.drainOnce();
    const logoutToken = await rp.nextLogoutToken();
    expect((await verifyWithJwks(t.publicUrl, logoutToken, app.clientId, "logout+jwt")).sub).toBe(user.userId);
    // Nothing more is owed to the app.
    expect(await t.container.infra.db.backchannelLogout.count({ where: { clientId: app.clientId, status: { not: "failed" } } })).toBe(0);
  });
});

describe("admin revocation of the user's sessions", () => {
  it("stops the app's refresh token and access token", async () => {
    const { user, tokens } = await signedIn();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.claims()?.sub).toBe(user.userId);

    const revoked = await supertest(t.app).delete(`/api/v1/tenants/${user.slug}/users/${user.userId}/sessions`).set("Authorization", `Bearer ${t.adminToken}`);
    expect(revoked.status).toBe(200);
    await rp.nextLogoutToken();

    expect(await refreshError(refreshed.refresh_token!)).toBe("invalid_grant");
    await expect(oidc.fetchUserInfo(config, refreshed.access_token, user.userId)).rejects.toMatchObject({ status: 401 });
  });

  it("keeps refresh tokens single-use: a replayed one is refused and ends the grant", async () => {
    const { tokens } = await signedIn();
    const first = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(await refreshError(tokens.refresh_token!)).toBe("invalid_grant");
    expect(await refreshError(first.refresh_token!)).toBe("invalid_grant");
  });
});

describe("RP-initiated logout", () => {
  it("asks before signing out, then ends the Gatehouse session and returns to the registered URI", async () => {
    const { browser, tokens } = await signedIn();
    const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${rp.origin}/signed-out`, state: "bye" });
    const confirm = await browser.get(endSession.pathname + endSession.search);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain("Yes, sign me out");
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1];
    expect(xsrf).toBeDefined();

    const done = await browser.post("/oidc/session/end/confirm", { xsrf: xsrf!, logout: "yes" }, { withCsrf: false });
    expect(done.status).toBe(303);
    const back = new URL(String(done.headers.location));
    expect(back.origin + back.pathname).toBe(`${rp.origin}/signed-out`);
    expect(back.searchParams.get("state")).toBe("bye");
    await rp.nextLogoutToken();

    // The Gatehouse session is over too: the account page wants a login again.
    const account = await browser.get("/account");
    expect(account.status).toBe(303);
    expect(String(account.headers.location)).toMatch(/^\/login/);
    expect(await refreshError(tokens.refresh_token!)).toBe("invalid_grant");
  });

  it("refuses a post-logout redirect URI that was not registered", async () => {
    const { browser, tokens } = await signedIn();
    const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${rp.origin}/elsewhere` });
    const res = await browser.get(endSession.pathname + endSession.search);
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    // Still signed in at Gatehouse: nothing was ended.
    const again = await followWithinGatehouse(browser, t.publicUrl, "/account");
    expect(again.res?.status).toBe(200);
  });
});
