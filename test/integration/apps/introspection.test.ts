// Token introspection (RFC 7662) and revocation (RFC 7009) for an app's backend: the app may ask about, or
// revoke, the tokens issued to it; another app learns nothing about them and cannot revoke them; a token
// whose Gatehouse session ended is inactive.
import * as oidc from "openid-client";
import { loginThroughApp, redeem, userWithTotp, withProductApp, type ProductAppFixture } from "../../support/product-app-login";
import type { RegisteredApp } from "../../support/relying-party";

let f: ProductAppFixture;
let app: RegisteredApp;
let config: oidc.Configuration;
withProductApp({ refreshTokens: true }, (started) => ({ f, app, config } = started));
let otherConfig: oidc.Configuration;
beforeAll(async () => {
  otherConfig = (await f.app({ refreshTokens: true })).config;
});

async function signedIn() {
  const user = await userWithTotp(f.t, f.clock);
  const { browser, request, callback } = await loginThroughApp(f.t, config, app, user, f.clock);
  return { user, browser, tokens: await redeem(config, request, callback) };
}

it("tells the app that its access and refresh tokens are active, with the user and the scope", async () => {
  const { user, tokens } = await signedIn();
  const access = await oidc.tokenIntrospection(config, tokens.access_token);
  expect(access).toMatchObject({ active: true, sub: user.userId, client_id: app.clientId, token_type: "Bearer" });
  expect(String(access.scope).split(" ")).toEqual(expect.arrayContaining(["openid", "email"]));
  expect(await oidc.tokenIntrospection(config, tokens.refresh_token!, { token_type_hint: "refresh_token" })).toMatchObject({ active: true, sub: user.userId });
});

it("answers another app that the token is inactive, and tells it nothing else", async () => {
  // The attack: an app that got hold of another app's token asks the provider whose it is and what it allows.
  const { tokens } = await signedIn();
  expect(await oidc.tokenIntrospection(otherConfig, tokens.access_token)).toEqual({ active: false });
  expect(await oidc.tokenIntrospection(otherConfig, tokens.refresh_token!)).toEqual({ active: false });
});

it("ignores another app's request to revoke the token: it stays active", async () => {
  // The attack: one app revokes another app's tokens to sign its users out (denial of service).
  const { tokens } = await signedIn();
  await oidc.tokenRevocation(otherConfig, tokens.refresh_token!);
  expect(await oidc.tokenIntrospection(config, tokens.refresh_token!)).toMatchObject({ active: true });
});

it("revokes the app's own refresh token, and the grant with it", async () => {
  const { tokens } = await signedIn();
  await oidc.tokenRevocation(config, tokens.refresh_token!);
  expect(await oidc.tokenIntrospection(config, tokens.refresh_token!)).toEqual({ active: false });
  expect(await oidc.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
});

it("answers inactive once the Gatehouse session has ended", async () => {
  const { browser, tokens } = await signedIn();
  expect((await browser.post("/logout", {})).status).toBe(303);
  await f.rp.nextLogoutToken();
  expect(await oidc.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
  expect(await oidc.tokenIntrospection(config, tokens.refresh_token!)).toEqual({ active: false });
});

it("refuses a caller without client credentials, or with a wrong secret", async () => {
  const { tokens } = await signedIn();
  const ask = (headers: Record<string, string>) => fetch(`${f.t.publicUrl}/oidc/token/introspection`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams({ token: tokens.access_token }).toString(),
  });
  const anonymous = await ask({});
  expect([anonymous.status, ((await anonymous.json()) as { error?: string }).error]).toEqual([400, "invalid_request"]);
  const wrongSecret = await ask({ authorization: `Basic ${Buffer.from(`${app.clientId}:not-the-secret`).toString("base64")}` });
  expect([wrongSecret.status, ((await wrongSecret.json()) as { error?: string }).error]).toEqual([401, "invalid_client"]);
});
