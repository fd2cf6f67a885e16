// Changes to an app in the registry apply to the provider at once, on every instance: a removed redirect URI
// is refused, a deleted app can no longer redeem codes or refresh tokens.
import * as oidc from "openid-client";
import { loginThroughApp, redeem, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../../support/product-app-login";
import { authorizationRequest, followWithinGatehouse } from "../../support/relying-party";

let f: ProductAppFixture;

beforeAll(async () => {
  f = await startProductAppFixture();
});
afterAll(() => f.close());

it("refuses a redirect URI removed by PATCH, and stops a deleted app's codes and refresh tokens", async () => {
  const { app, config } = await f.app({ refreshTokens: true });
  const user = await userWithTotp(f.t, f.clock);
  const { browser, request, callback } = await loginThroughApp(f.t, config, app, user, f.clock);
  const tokens = await redeem(config, request, callback);

  await f.t.api().patch(`/api/v1/applications/${app.id}`).send({ redirectUris: [`${f.rp.origin}/other-callback`] }).expect(200);
  const stale = await authorizationRequest(config, app);
  expect((await browser.get(stale.url.pathname + stale.url.search)).status).toBe(400);

  const moved = { ...app, redirectUri: `${f.rp.origin}/other-callback` };
  const pending = await authorizationRequest(config, moved);
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, pending.url);
  expect(leftTo?.searchParams.get("code")).toEqual(expect.any(String));

  await f.t.api().delete(`/api/v1/applications/${app.id}`).expect(204);
  const refused = (attempt: Promise<unknown>) => attempt.then(() => "accepted", (e: { error?: string; cause?: { parameters?: { error?: string } }[] }) => e.error ?? e.cause?.[0]?.parameters?.error);
  expect(await refused(oidc.authorizationCodeGrant(config, leftTo!, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce }))).toBe("invalid_client");
  expect(await refused(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toBe("invalid_client");
});
