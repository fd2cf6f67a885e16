// Where the claims of issued tokens come from: a code's redemption takes those the session recorded at
// sign-in (the authorization that issued the code had just read the account), while a refresh and
// userinfo, which live on, read the account again.
import * as oidc from "openid-client";
import { loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../../support/product-app-login";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture();
});
afterAll(() => f.close());

it("a code's ID token carries the name of sign-in; a refreshed one and userinfo carry the current name", async () => {
  const { app, config } = await f.app({ refreshTokens: true });
  const user = await userWithTotp(f.t, f.clock);
  const { request, callback } = await loginThroughApp(f.t, config, app, user, f.clock);
  // Renamed after the code was issued, behind the service's back (no session changes).
  await f.t.container.infra.db.user.update({ where: { id: user.userId }, data: { name: "Augusta King" } });

  const tokens = await redeem(config, request, callback);
  expect(tokens.claims()).toMatchObject({ sub: user.userId, name: "Ada Lovelace", email: user.email, tenant: user.slug, region: "us" });

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  expect(refreshed.claims()).toMatchObject({ sub: user.userId, name: "Augusta King" });
  const info = await oidc.fetchUserInfo(config, refreshed.access_token, user.userId);
  expect(info).toMatchObject({ sub: user.userId, name: "Augusta King" });
});
