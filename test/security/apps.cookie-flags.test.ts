// An attacker on the network or on a sibling host steals or plants the provider's cookies: over https they
// must be Secure (prefix __Secure-, so a plain-http page cannot set them), HttpOnly and SameSite=Lax.
import { createHash, randomBytes } from "node:crypto";
import supertest from "supertest";
import { startTestApp, type TestApp } from "../support/harness";
import { setCookiesOf } from "../support/login-helpers";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: "https://gatehouse.test" });
});
afterAll(() => t.close());

it("an authorization request over https sets only __Secure- cookies, Secure, HttpOnly and SameSite=Lax", async () => {
  const redirectUri = "https://app.example/callback";
  const app = await t.api().post("/api/v1/applications").send({ name: "Cookie App", redirectUris: [redirectUri] }).expect(201);
  const verifier = randomBytes(32).toString("base64url");
  const res = await supertest(t.app).get("/oidc/auth").query({
    client_id: app.body.clientId, redirect_uri: redirectUri, response_type: "code", scope: "openid",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
    state: randomBytes(16).toString("base64url"), nonce: randomBytes(16).toString("base64url"),
  });
  expect(res.status).toBe(303);
  expect(String(res.headers.location)).toMatch(/^\/oidc\/interaction\//);
  const cookies = setCookiesOf(res);
  expect(cookies.map((c) => c.name).sort()).toEqual(expect.arrayContaining(["__Secure-gh_oidc_interaction", "__Secure-gh_oidc_resume"]));
  for (const cookie of cookies) {
    expect([cookie.name, cookie.name.startsWith("__Secure-")]).toEqual([cookie.name, true]);
    expect([cookie.name, cookie.attributes.secure, cookie.attributes.httponly, String(cookie.attributes.samesite).toLowerCase()]).toEqual([cookie.name, true, true, "lax"]);
  }
});
