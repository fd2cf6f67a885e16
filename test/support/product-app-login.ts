import * as oidc from "openid-client";
import type supertest from "supertest";
import { ManualClock } from "../../src/platform/clock";
import { oathtoolCode, textOf } from "./browser";
import type { TestApp } from "./harness";
import { adminApi, CookieBrowser, createTenant, createUser, enrolTotp, PASSWORD, STEP_MS } from "./login-helpers";
import {
  authorizationRequest, followWithinGatehouse, rpConfiguration, startListeningApp, startTestRp, type AuthorizationRequest, type RegisteredApp, type TestRp,
} from "./relying-party";

/** A tenant (MFA required) with a contractor who has enrolled TOTP; the clock is past the enrolment's step. */
export async function userWithTotp(t: TestApp, clock: ManualClock, tenantBody: Record<string, unknown> = {}) {
  const slug = await createTenant(t, tenantBody);
  const email = `ada-${slug}@example.test`;
  const userId = await createUser(t, slug, { email, name: "Ada Lovelace" });
  const { secret } = await enrolTotp(t, { tenant: slug, email, password: PASSWORD }, clock);
  // The replay guard refuses the enrolment's time step again.
  clock.advance(STEP_MS);
  return { slug, email, userId, secret };
}

/** The hidden return_to of the login form on `res`. */
export function returnToOf(res: supertest.Response): string {
  const match = /name="return_to" value="([^"]*)"/.exec(res.text ?? "");
  if (!match?.[1]) throw new Error(`no return_to on the page: ${res.status} ${res.text?.slice(0, 300)}`);
  return match[1].replaceAll("&amp;", "&").replaceAll("&#x2F;", "/").replaceAll("&#47;", "/");
}

/**
 * The app sends a fresh browser to Gatehouse; the user signs in at the regional login with password and
 * TOTP; the browser is followed back until it leaves for the app. Returns the app's callback URL.
 */
export async function loginThroughApp(
  t: TestApp & { publicUrl: string },
  config: oidc.Configuration,
  app: RegisteredApp,
  user: { slug: string; email: string; secret: string },
  clock: ManualClock,
  options: { browser?: CookieBrowser; extra?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<{ browser: CookieBrowser; request: AuthorizationRequest; callback: URL }> {
  const browser = options.browser ?? new CookieBrowser(t.app);
  const headers = options.headers ?? {};
  const request = await authorizationRequest(config, app, { tenant: user.slug, ...options.extra });
  const toLogin = await followWithinGatehouse(browser, t.publicUrl, request.url, headers);
  if (!toLogin.res || toLogin.res.status !== 200) throw new Error(`expected the login form, got ${toLogin.res?.status ?? toLogin.leftTo?.href}`);
  const form = { tenant: user.slug, email: user.email, password: PASSWORD, return_to: returnToOf(toLogin.res) };
  const password = await browser.post("/us/login", form, { headers });
  if (password.headers.location !== "/us/login/mfa") throw new Error(`password step: ${password.status} ${password.headers.location ?? password.text}`);
  await browser.get("/us/login/mfa", headers);
  const mfa = await browser.post("/us/login/mfa", { code: oathtoolCode(user.secret, clock.now()) }, { headers });
  clock.advance(STEP_MS);
  if (mfa.status !== 303) throw new Error(`mfa step: ${mfa.status} ${mfa.text}`);
  const back = await followWithinGatehouse(browser, t.publicUrl, String(mfa.headers.location), headers);
  if (!back.leftTo) throw new Error(`did not return to the app: ${back.res?.status} ${back.res?.text?.slice(0, 500)}`);
  return { browser, request, callback: back.leftTo };
}

/** Redeems the code at the token endpoint, as the app does. */
export function redeem(config: oidc.Configuration, request: AuthorizationRequest, callback: URL) {
  return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
}

/** The error the provider sent the browser back to the app with, or null. */
export function errorOf(callback: URL): string | null {
  return callback.searchParams.get("error");
}

export { adminApi };

export type ProductAppFixture = {
  t: Awaited<ReturnType<typeof startListeningApp>>;
  rp: TestRp;
  clock: ManualClock;
  /** Registers another app of the test RP and returns it with its openid-client configuration. */
  app(body?: Record<string, unknown>): Promise<{ app: RegisteredApp; config: oidc.Configuration }>;
  close(): Promise<void>;
};

/** A listening Gatehouse on a manual clock and a test app server; apps are registered per test. */
export async function startProductAppFixture(env: Record<string, string> = {}): Promise<ProductAppFixture> {
  const clock = new ManualClock();
  const t = await startListeningApp(env, clock);
  const rp = await startTestRp();
  return {
    t, rp, clock,
    async app(body = {}) {
      const app = await rp.register(t, body);
      return { app, config: await rpConfiguration(t.publicUrl, app) };
    },
    async close() {
      await rp.close();
      await t.close();
    },
  };
}

/**
 * In a login held for the local TOTP enrolment (`/us/mfa/setup`): enrols the TOTP shown on the setup page and
 * follows the recovery-codes page (they come first) back into the interaction, to where it leaves Gatehouse.
 */
export async function enrolAndReturn(f: Pick<ProductAppFixture, "t" | "clock">, browser: CookieBrowser): Promise<{ secret: string; leftTo: URL }> {
  const setupPage = await browser.get("/us/mfa/setup");
  if (setupPage.status !== 200) throw new Error(`the TOTP setup page answered ${setupPage.status}`);
  const secret = textOf(setupPage.text, "totp-secret");
  const enrolled = await browser.post("/us/mfa/setup", { code: oathtoolCode(secret, f.clock.now()) });
  f.clock.advance(STEP_MS);
  if (enrolled.status !== 303) throw new Error(`enrolling the TOTP answered ${enrolled.status}`);
  const codesPage = new URL(String(enrolled.headers.location), f.t.publicUrl);
  const codes = await browser.get(codesPage.pathname + codesPage.search);
  if (codes.status !== 200) throw new Error(`the recovery codes page answered ${codes.status}`);
  const done = await followWithinGatehouse(browser, f.t.publicUrl, codesPage.searchParams.get("return_to")!);
  return { secret, leftTo: done.leftTo! };
}

export type ProductApp = { f: ProductAppFixture; app: RegisteredApp; config: oidc.Configuration };

/** Registers hooks that start the fixture and register one app (`body`), hand both to `use`, and close it after. */
export function withProductApp(body: Record<string, unknown>, use: (started: ProductApp) => void): void {
  let fixture: ProductAppFixture | undefined;
  beforeAll(async () => {
    fixture = await startProductAppFixture();
    use({ f: fixture, ...(await fixture.app(body)) });
  });
  afterAll(() => fixture?.close());
}

export type SignedInApp = { f: ProductAppFixture; app: RegisteredApp; config: oidc.Configuration; browser: CookieBrowser };

/**
 * For the attack tests: registers hooks that start the fixture, register one app, sign a user with TOTP in
 * through it (so the provider would issue a code at once), hand all of it to `use`, and close it after.
 */
export function withSignedInApp(use: (signedIn: SignedInApp) => void): void {
  let fixture: ProductAppFixture | undefined;
  beforeAll(async () => {
    const f = await startProductAppFixture();
    fixture = f;
    const { app, config } = await f.app();
    const user = await userWithTotp(f.t, f.clock);
    const { browser } = await loginThroughApp(f.t, config, app, user, f.clock);
    use({ f, app, config, browser });
  });
  afterAll(() => fixture?.close());
}
