// A deactivated (cancelled) user still holds a browser session or app tokens, or is deactivated while
// signing in, and asks a product app for a code or a fresh token.
import * as oidc from "openid-client";
import { adminApi } from "../support/login-helpers";
import { errorOf, loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../support/product-app-login";
import { authorizationRequest, followWithinGatehouse } from "../support/relying-party";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture();
});
afterAll(() => f.close());

it("ends the user's app sessions on deactivation: logout token sent, no code, no refresh", async () => {
  const { app, config } = await f.app({ refreshTokens: true });
  const user = await userWithTotp(f.t, f.clock);
  const { browser, request, callback } = await loginThroughApp(f.t, config, app, user, f.clock);
  const tokens = await redeem(config, request, callback);

  const patched = await adminApi(f.t).patch(`/api/v1/tenants/${user.slug}/users/${user.userId}`).send({ status: "deactivated" });
  expect(patched.status).toBe(200);
  const logoutToken = await f.rp.nextLogoutToken();
  expect(logoutToken.split(".")).toHaveLength(3);

  const next = await authorizationRequest(config, app);
  const { res } = await followWithinGatehouse(browser, f.t.publicUrl, next.url);
  // No session any more: the browser is at Gatehouse's sign-in page, not back at the app with a code.
  expect(res?.status).toBe(200);
  expect(res?.text).toMatch(/name="return_to" value="\/oidc\/interaction\//);
  await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
});

it("refuses a user deactivated behind a live session's back (no revocation): access_denied, no refresh", async () => {
  const { app, config } = await f.app({ refreshTokens: true });
  const user = await userWithTotp(f.t, f.clock);
  const { browser, request, callback } = await loginThroughApp(f.t, config, app, user, f.clock);
  const tokens = await redeem(config, request, callback);
  await f.t.container.infra.db.user.update({ where: { id: user.userId }, data: { status: "deactivated", deactivatedAt: new Date() } });

  const next = await authorizationRequest(config, app);
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, next.url);
  expect(errorOf(leftTo!)).toBe("access_denied");
  await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
});
