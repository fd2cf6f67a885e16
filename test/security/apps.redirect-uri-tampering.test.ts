// An attacker edits redirect_uri in an authorization link to an address they control (another host, a longer
// path, an added query, a look-alike) so that Gatehouse hands the signed-in user's code to them.
import type * as oidc from "openid-client";
import { CookieBrowser } from "../support/login-helpers";
import { withSignedInApp } from "../support/product-app-login";
import { authorizationRequest, type RegisteredApp } from "../support/relying-party";

let app: RegisteredApp;
let config: oidc.Configuration;
let browser: CookieBrowser;

withSignedInApp((signedIn) => {
  ({ app, config, browser } = signedIn);
});

const VARIANTS: [string, (registered: string) => string][] = [
  ["another host", () => "https://attacker.example/callback"],
  ["a longer path", (uri) => `${uri}/steal`],
  ["a path traversal", (uri) => `${uri}/../steal`],
  ["an added query", (uri) => `${uri}?next=https://attacker.example/`],
  ["a trailing slash", (uri) => `${uri}/`],
  ["a shorter path", (uri) => uri.slice(0, -1)],
  ["another port", (uri) => uri.replace(/:(\d+)\//, (_m, port: string) => `:${Number(port) + 1}/`)],
];

it.each(VARIANTS)("refuses a redirect URI with %s: a page, no redirect, no code", async (_name, variant) => {
  const request = await authorizationRequest(config, { ...app, redirectUri: variant(app.redirectUri) });
  const res = await browser.get(request.url.pathname + request.url.search);
  expect(res.status).toBe(400);
  expect(res.headers.location).toBeUndefined();
  expect(res.text).toContain("redirect_uri");
  expect(res.text).not.toMatch(/code=/);
});

it("refuses a request without redirect_uri even though the app registered only one", async () => {
  const request = await authorizationRequest(config, app);
  request.url.searchParams.delete("redirect_uri");
  const res = await browser.get(request.url.pathname + request.url.search);
  expect(res.status).toBe(400);
  expect(res.headers.location).toBeUndefined();
});

it("still sends the code to the registered URI, exactly", async () => {
  const request = await authorizationRequest(config, app);
  const res = await browser.get(request.url.pathname + request.url.search);
  expect(res.status).toBe(303);
  const location = new URL(String(res.headers.location));
  expect(location.origin + location.pathname).toBe(app.redirectUri);
  expect(location.searchParams.get("code")).toEqual(expect.any(String));
});
