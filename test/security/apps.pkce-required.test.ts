// An attacker who obtains an authorization code (a leaky redirect, a proxy log, a malicious app on the device)
// redeems it without the PKCE verifier, or an app leaves PKCE out so that the stolen code alone would do.
import * as oidc from "openid-client";
import { CookieBrowser } from "../support/login-helpers";
import { errorOf, type ProductAppFixture, withSignedInApp } from "../support/product-app-login";
import { authorizationRequest, followWithinGatehouse, type RegisteredApp } from "../support/relying-party";

let f: ProductAppFixture;
let app: RegisteredApp;
let config: oidc.Configuration;
let browser: CookieBrowser;

  // A signed-in browser: without PKCE the provider would otherwise issue a code at once.
withSignedInApp((signedIn) => {
  ({ f, app, config, browser } = signedIn);
});

const withoutPkce = (extra: Record<string, string> = {}) =>
  oidc.buildAuthorizationUrl(config, { redirect_uri: app.redirectUri, scope: "openid", state: oidc.randomState(), ...extra });

it("refuses an authorization request without code_challenge: the app gets invalid_request, never a code", async () => {
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, withoutPkce());
  expect(leftTo?.origin + leftTo!.pathname).toBe(app.redirectUri);
  expect(errorOf(leftTo!)).toBe("invalid_request");
  expect(leftTo!.searchParams.get("error_description")).toMatch(/PKCE/);
  expect(leftTo!.searchParams.has("code")).toBe(false);
});

it("refuses the plain method: only S256 binds the code to a secret the attacker cannot see", async () => {
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, withoutPkce({ code_challenge: "a".repeat(43), code_challenge_method: "plain" }));
  expect(errorOf(leftTo!)).toBe("invalid_request");
  expect(leftTo!.searchParams.has("code")).toBe(false);
});

it("refuses to redeem a code without the right verifier; the app holding the verifier still can", async () => {
  const request = await authorizationRequest(config, app);
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect(leftTo?.searchParams.get("code")).toEqual(expect.any(String));
  const redeem = (verifier: string) =>
    oidc.authorizationCodeGrant(config, leftTo!, { pkceCodeVerifier: verifier, expectedState: request.state, expectedNonce: request.nonce });
  await expect(redeem(oidc.randomPKCECodeVerifier())).rejects.toMatchObject({ error: "invalid_grant" });
  const tokens = await redeem(request.verifier);
  expect(tokens.id_token).toEqual(expect.any(String));
  // A code is single-use: replaying it, even with the verifier, fails.
  await expect(redeem(request.verifier)).rejects.toMatchObject({ error: "invalid_grant" });
});
