// One session, not two, for every way a Gatehouse session ends besides logout and admin revocation
// (logout.test.ts) and deactivation (apps.deactivated-user.test.ts): MFA reset, a forced password reset of
// one user, a rotation campaign, the user's own reset through forgot-password, and a password change that
// ends the other sessions. Each must end the app's session too: a logout token for that session, and its
// refresh token refused.
import * as oidc from "openid-client";
import supertest from "supertest";
import { oathtoolCode } from "../../support/browser";
import { CookieBrowser, PASSWORD, STEP_MS } from "../../support/login-helpers";
import { loginThroughApp, redeem, userWithTotp, withProductApp, type ProductAppFixture } from "../../support/product-app-login";
import { verifyWithJwks, type RegisteredApp } from "../../support/relying-party";
import { askForReset, latestToken, NEW_PASSWORD, submitReset, titleOf } from "../passwords-flow/helpers";

let f: ProductAppFixture;
let app: RegisteredApp;
let config: oidc.Configuration;
withProductApp({ refreshTokens: true }, (started) => ({ f, app, config } = started));

type User = Awaited<ReturnType<typeof userWithTotp>>;
const admin = (method: "post", path: string) => supertest(f.t.app)[method](path).set("Authorization", `Bearer ${f.t.adminToken}`);

/** A fresh browser signs in at the regional login with password and TOTP, outside any app. */
async function secondBrowser(user: User): Promise<CookieBrowser> {
  const browser = new CookieBrowser(f.t.app);
  await browser.get("/us/login");
  const password = await browser.post("/us/login", { tenant: user.slug, email: user.email, password: PASSWORD });
  expect(password.headers.location).toBe("/us/login/mfa");
  await browser.get("/us/login/mfa");
  const mfa = await browser.post("/us/login/mfa", { code: oathtoolCode(user.secret, f.clock.now()) });
  f.clock.advance(STEP_MS);
  expect(mfa.status).toBe(303);
  return browser;
}

const endings: [string, (user: User) => Promise<void>][] = [
  ["an MFA reset", async (user) => {
    await admin("post", `/api/v1/tenants/${user.slug}/users/${user.userId}/mfa/reset`).expect(200);
  }],
  ["a forced password reset of the user", async (user) => {
    await admin("post", `/api/v1/tenants/${user.slug}/users/${user.userId}/password-reset`).send({ mode: "reset_required", revokeSessions: true, notify: false }).expect(200);
  }],
  ["a rotation campaign over the user's tenant", async (user) => {
    await admin("post", "/api/v1/password-rotations").send({ tenants: [user.slug], mode: "change_at_next_login", revokeSessions: true, notify: false, reason: "suspicious logins" }).expect(202);
    await f.t.container.rotationWorker.runOnce();
  }],
  ["the user's own reset through forgot-password", async (user) => {
    const browser = new CookieBrowser(f.t.app);
    await askForReset(browser, { tenant: user.slug, email: user.email });
    const done = await submitReset(browser, await latestToken(f.t, user.email), NEW_PASSWORD);
    expect([done.status, titleOf(done)]).toEqual([200, "Password changed"]);
  }],
  ["a password change in another browser that ends the other sessions", async (user) => {
    const other = await secondBrowser(user);
    await other.get("/us/password/change");
    const changed = await other.post("/us/password/change", { password: PASSWORD, new_password: NEW_PASSWORD, end_other_sessions: "yes" });
    expect([changed.status, changed.headers.location]).toEqual([303, "/account"]);
  }],
];

describe.each(endings)("the Gatehouse session ended by %s", (_label, end) => {
  it("ends the app's session: a logout token for its sid, and its refresh token refused", async () => {
    const user = await userWithTotp(f.t, f.clock);
    const { request, callback } = await loginThroughApp(f.t, config, app, user, f.clock);
    const tokens = await redeem(config, request, callback);
    // The grant is live before: a refresh succeeds.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);

    await end(user);

    const claims = await verifyWithJwks(f.t.publicUrl, await f.rp.nextLogoutToken(), app.clientId, "logout+jwt");
    expect([claims.sub, claims.sid]).toEqual([user.userId, tokens.claims()!.sid]);
    const refused = await oidc.refreshTokenGrant(config, refreshed.refresh_token!).then(
      () => "refreshed",
      (error: unknown) => (error as { error?: string }).error ?? String(error),
    );
    expect(refused).toBe("invalid_grant");
  });
});
