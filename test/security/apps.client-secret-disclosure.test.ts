// Someone who can read the database or the admin API tries to authenticate as a product app with what they
// find there: the stored hash, a listed app, or a guessed secret.
import * as oidc from "openid-client";
import { CookieBrowser } from "../support/login-helpers";
import { type ProductAppFixture, redeem, withSignedInApp } from "../support/product-app-login";
import { authorizationRequest, followWithinGatehouse, type RegisteredApp } from "../support/relying-party";

let f: ProductAppFixture;
let app: RegisteredApp;
let config: oidc.Configuration;
let browser: CookieBrowser;

withSignedInApp((signedIn) => {
  ({ f, app, config, browser } = signedIn);
});

/** A fresh code for the signed-in browser, redeemed with `auth` in place of the app's own client authentication. */
async function redeemAs(auth: oidc.ClientAuth) {
  const request = await authorizationRequest(config, app);
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  const impostor = new oidc.Configuration(config.serverMetadata(), app.clientId, undefined, auth);
  oidc.allowInsecureRequests(impostor);
  return oidc.authorizationCodeGrant(impostor, leftTo!, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
}

/** The OAuth error the token endpoint answered with (a 401 comes back as a WWW-Authenticate challenge). */
async function refusal(attempt: Promise<unknown>): Promise<string> {
  const error = (await attempt.then(() => null, (e: unknown) => e)) as { error?: string; status?: number; cause?: { parameters?: { error?: string } }[] } | null;
  return error?.error ?? error?.cause?.[0]?.parameters?.error ?? `no error (${error?.status ?? "accepted"})`;
}

it("keeps only the secret's SHA-256, and that hash does not authenticate", async () => {
  const row = await f.t.container.infra.db.application.findUniqueOrThrow({ where: { id: app.id } });
  expect(row.clientSecretHash).not.toBe(app.clientSecret);
  expect(await refusal(redeemAs(oidc.ClientSecretBasic(row.clientSecretHash)))).toBe("invalid_client");
});

it("refuses a wrong secret, in the header or the body, and no secret at all", async () => {
  const wrong = `${app.clientSecret.slice(0, -1)}${app.clientSecret.endsWith("x") ? "y" : "x"}`;
  expect(await refusal(redeemAs(oidc.ClientSecretBasic(wrong)))).toBe("invalid_client");
  expect(await refusal(redeemAs(oidc.ClientSecretPost(wrong)))).toBe("invalid_client");
  expect(await refusal(redeemAs(oidc.None()))).toBe("invalid_client");
});

it("never shows the secret again through the admin API", async () => {
  const read = await f.t.api().get(`/api/v1/applications/${app.id}`).expect(200);
  const list = await f.t.api().get("/api/v1/applications?limit=200").expect(200);
  for (const text of [read.text, list.text]) expect(text).not.toContain(app.clientSecret);
});

it("accepts client_secret_post from an app registered for it", async () => {
  const post = await f.app({ tokenEndpointAuthMethod: "client_secret_post" });
  const postConfig = new oidc.Configuration(post.config.serverMetadata(), post.app.clientId, undefined, oidc.ClientSecretPost(post.app.clientSecret));
  oidc.allowInsecureRequests(postConfig);
  const request = await authorizationRequest(postConfig, post.app);
  const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect((await redeem(postConfig, request, leftTo!)).id_token).toEqual(expect.any(String));
});
