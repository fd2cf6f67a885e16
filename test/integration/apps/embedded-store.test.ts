// The OpenID provider on the in-process store (embedded mode, no REDIS_URL): sign-in, refresh, and logout
// propagation work exactly as on Redis.
import * as oidc from "openid-client";
import { loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../../support/product-app-login";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture({ REDIS_URL: undefined as unknown as string });
});
afterAll(() => f.close());

it("signs in, refreshes, and ends the app's session with the Gatehouse session", async () => {
  expect(f.t.container.infra.kv.kind).toBe("memory");
  const { app, config } = await f.app({ refreshTokens: true });
  const user = await userWithTotp(f.t, f.clock);
  const { browser, request, callback } = await loginThroughApp(f.t, config, app, user, f.clock);
  const tokens = await redeem(config, request, callback);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  expect(refreshed.claims()?.sub).toBe(user.userId);

  await browser.post("/logout", {});
  expect(await f.rp.nextLogoutToken()).toEqual(expect.any(String));
  await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
});
