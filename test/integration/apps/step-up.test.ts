// Step-up: an app that asks for a second factor (acr_values=aal2) does not get a code from a session that
// had none; the user signs in again, may not skip setting one up, and the ID token's acr says aal2.
import * as oidc from "openid-client";
import { oathtoolCode } from "../../support/browser";
import { CookieBrowser, createTenant, createUser, PASSWORD, STEP_MS } from "../../support/login-helpers";
import { redeem, returnToOf, startProductAppFixture, userWithTotp, type ProductAppFixture } from "../../support/product-app-login";
import { authorizationRequest, followWithinGatehouse, type RegisteredApp } from "../../support/relying-party";

let f: ProductAppFixture;
let app: RegisteredApp;
let config: oidc.Configuration;

beforeAll(async () => {
  f = await startProductAppFixture();
  ({ app, config } = await f.app());
});
afterAll(() => f.close());

/** A user of a tenant that does not require MFA, without a second factor. */
async function userWithoutSecondFactor() {
  const slug = await createTenant(f.t, { mfaRequired: false });
  const email = `grace-${slug}@example.test`;
  const userId = await createUser(f.t, slug, { email, name: "Grace Hopper" });
  return { slug, email, userId };
}

/** Starts an authorization at the app's request and follows the browser to the login form (or back to the app). */
async function authorize(browser: CookieBrowser, slug: string, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(config, app, { tenant: slug, ...extra });
  return { request, reached: await followWithinGatehouse(browser, f.t.publicUrl, request.url) };
}

async function passwordStep(browser: CookieBrowser, user: { slug: string; email: string }, loginPage: Parameters<typeof returnToOf>[0]) {
  return browser.post("/us/login", { tenant: user.slug, email: user.email, password: PASSWORD, return_to: returnToOf(loginPage) });
}

it("lists aal1 and aal2 in discovery", async () => {
  const discovery = await fetch(`${f.t.publicUrl}/oidc/.well-known/openid-configuration`).then((res) => res.json() as Promise<{ acr_values_supported: string[] }>);
  expect(discovery.acr_values_supported).toEqual(["aal1", "aal2"]);
});

it("signs an aal1 session in again when the app asks for aal2, without letting the user skip the second factor", async () => {
  const user = await userWithoutSecondFactor();
  const browser = new CookieBrowser(f.t.app);

  // First the app asks for nothing in particular: the user skips setting up a second factor and gets aal1.
  const first = await authorize(browser, user.slug);
  expect((await passwordStep(browser, user, first.reached.res!)).headers.location).toBe("/us/mfa/setup");
  const skipped = await browser.post("/us/mfa/setup/skip", {});
  expect(skipped.status).toBe(303);
  const back = await followWithinGatehouse(browser, f.t.publicUrl, String(skipped.headers.location));
  const aal1 = await redeem(config, first.request, back.leftTo!);
  expect(aal1.claims()).toMatchObject({ sub: user.userId, acr: "aal1", amr: ["pwd"] });

  // A minute later it asks for aal2: the live aal1 session is not enough, so no code; the browser is at the
  // login form, and setting up a second factor is no longer optional.
  f.clock.advance(60_000);
  const refusedRun = await authorize(browser, user.slug, { acr_values: "aal2" });
  expect(refusedRun.reached.leftTo).toBeUndefined();
  expect(refusedRun.reached.res?.status).toBe(200);
  expect((await passwordStep(browser, user, refusedRun.reached.res!)).headers.location).toBe("/us/mfa/setup");
  expect((await browser.get("/us/mfa/setup")).text).not.toContain("/us/mfa/setup/skip");
  // Skipping anyway ends this sign-in attempt instead of finishing it.
  const refused = await browser.post("/us/mfa/setup/skip", {});
  expect(refused.status).toBe(401);

  f.clock.advance(60_000);
  const stepUp = await authorize(browser, user.slug, { acr_values: "aal2" });
  expect((await passwordStep(browser, user, stepUp.reached.res!)).headers.location).toBe("/us/mfa/setup");
  const secret = /id="totp-secret">([^<]+)</.exec((await browser.get("/us/mfa/setup")).text)?.[1];
  expect(secret).toBeDefined();
  const enrolled = await browser.post("/us/mfa/setup", { code: oathtoolCode(secret!, f.clock.now()) });
  f.clock.advance(STEP_MS);
  expect(enrolled.status).toBe(303);
  // New recovery codes are shown first; the page's way on is the interaction, back to the app.
  const codesPage = new URL(String(enrolled.headers.location), f.t.publicUrl);
  expect((await browser.get(codesPage.pathname + codesPage.search)).status).toBe(200);
  const done = await followWithinGatehouse(browser, f.t.publicUrl, codesPage.searchParams.get("return_to")!);
  const aal2 = await redeem(config, stepUp.request, done.leftTo!);
  expect(aal2.claims()).toMatchObject({ sub: user.userId, acr: "aal2" });
  expect(aal2.claims()?.amr).toEqual(expect.arrayContaining(["otp", "mfa"]));
});

it("gives a session that already has a second factor its code at once", async () => {
  const user = await userWithTotp(f.t, f.clock);
  const browser = new CookieBrowser(f.t.app);
  const first = await authorize(browser, user.slug);
  expect((await passwordStep(browser, user, first.reached.res!)).headers.location).toBe("/us/login/mfa");
  const mfa = await browser.post("/us/login/mfa", { code: oathtoolCode(user.secret, f.clock.now()) });
  f.clock.advance(STEP_MS);
  await followWithinGatehouse(browser, f.t.publicUrl, String(mfa.headers.location));

  const again = await authorize(browser, user.slug, { acr_values: "aal2" });
  expect(again.reached.leftTo).toBeDefined();
  expect((await redeem(config, again.request, again.reached.leftTo!)).claims()).toMatchObject({ acr: "aal2" });
});
