// Step-up through an OIDC IdP: an app that asks for a second factor (acr_values=aal2) must not get aal2 from
// an IdP login that used one factor, nor from an `amr` the IdP did not sign; Gatehouse adds its own TOTP.
import type { Configuration } from "openid-client";
import type supertest from "supertest";
import { oathtoolCode } from "../../support/browser";
import { CookieBrowser, createTenant, setCookiesOf, STEP_MS } from "../../support/login-helpers";
import { startTestOp, type OpLogin, type TestOp } from "../../support/oidc-op";
import { enrolAndReturn, redeem, startProductAppFixture, type ProductAppFixture } from "../../support/product-app-login";
import { authorizationRequest, followWithinGatehouse, type RegisteredApp } from "../../support/relying-party";
import { failureReasons } from "../../support/saml-login";

const MFA_CONTEXT = "https://refeds.org/profile/mfa";

let f: ProductAppFixture;
let op: TestOp;

beforeAll(async () => {
  f = await startProductAppFixture();
  op = await startTestOp();
});
afterAll(async () => {
  await f.close();
  await op.close();
});

type Setup = { slug: string; tenantId: string; app: RegisteredApp; config: Configuration };

/**
 * A tenant (MFA not required, users made at first login) with SSO through `op`, and an app for it. Gatehouse
 * listens on its own PUBLIC_URL here (the app fetches its discovery), so the OP client is registered for that.
 */
async function oidcTenantWithApp(tenantBody: Record<string, unknown> = {}, connectionBody: Record<string, unknown> = {}): Promise<Setup> {
  const slug = await createTenant(f.t, { mfaRequired: false, ...tenantBody });
  const { clientId, clientSecret } = op.registerClient(`${f.t.publicUrl}/sso/${slug}/oidc/callback`);
  await f.t.api().post(`/api/v1/tenants/${slug}/sso-connections`).send({ type: "oidc", issuer: op.issuer, clientId, clientSecret, provisioning: "jit", ...connectionBody }).expect(201);
  await f.t.api().put(`/api/v1/tenants/${slug}/sso`).send({ enabled: true, enforced: false }).expect(200);
  const tenant = await f.t.container.infra.db.tenant.findUniqueOrThrow({ where: { slug } });
  return { slug, tenantId: tenant.id, ...(await f.app({ tenants: [slug] })) };
}

const account = (sub: string, email: string, extra: Record<string, unknown> = {}) =>
  ({ sub, email, email_verified: true, given_name: "Grace", family_name: "Hopper", name: "Grace Hopper", ...extra });

/**
 * The app sends the browser to Gatehouse, which sends it on to the OP; the OP signs `login` in and sends the
 * browser back to the callback, which the browser delivers. Returns the callback's response.
 */
async function throughIdp(browser: CookieBrowser, setup: Setup, login: OpLogin, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(setup.config, setup.app, extra);
  const toIdp = await followWithinGatehouse(browser, f.t.publicUrl, request.url);
  expect(toIdp.leftTo?.origin + toIdp.leftTo!.pathname).toBe(`${op.issuer}/auth`);
  op.loginNext(login);
  const callback = await op.authorize(toIdp.leftTo!.href);
  expect(callback.origin).toBe(f.t.publicUrl);
  const res = await browser.get(callback.pathname + callback.search);
  return { request, res, toIdp: toIdp.leftTo! };
}

/** The tenant's `sso.login.succeeded` rows, oldest first. */
async function ssoLogins(tenantId: string) {
  const rows = await f.t.container.infra.db.auditEvent.findMany({ where: { tenantId, type: "sso.login.succeeded" }, orderBy: { id: "asc" } });
  return rows.map((row) => row.data as Record<string, unknown>);
}

const sessionCookieSet = (res: supertest.Response) => setCookiesOf(res).some((cookie) => cookie.name.endsWith("gh_session") && cookie.value !== "");

describe("an app that asks for aal2, an IdP login without MFA", () => {
  it("holds the login for the local TOTP enrolment, and the app gets aal2 with what the user gave", async () => {
    const setup = await oidcTenantWithApp();
    const browser = new CookieBrowser(f.t.app);
    const email = "grace@oidc.example";
    const { request, res } = await throughIdp(browser, setup, { account: account("op-grace", email), amr: ["pwd"] }, { acr_values: "aal2" });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/us/mfa/setup");
    // Held, not yet a login: no session, nothing audited as a success.
    expect(sessionCookieSet(res)).toBe(false);
    expect(await ssoLogins(setup.tenantId)).toHaveLength(0);
    expect((await browser.get("/us/mfa/setup")).text).not.toContain("/us/mfa/setup/skip");

    const { leftTo } = await enrolAndReturn(f, browser);
    const claims = (await redeem(setup.config, request, leftTo)).claims()!;
    expect(claims).toMatchObject({ email, acr: "aal2" });
    expect(claims.amr).toEqual(expect.arrayContaining(["pwd", "otp", "mfa"]));
    expect(claims.amr).toHaveLength(3);
    const user = await f.t.container.infra.db.user.findFirstOrThrow({ where: { tenantId: setup.tenantId, email } });
    expect(user.totpSecret).not.toBeNull();
    const logins = await ssoLogins(setup.tenantId);
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatchObject({ protocol: "oidc", localSecondFactor: true });
  });

  it("does not let the user skip setting up the TOTP", async () => {
    const setup = await oidcTenantWithApp();
    const browser = new CookieBrowser(f.t.app);
    const email = "skipper@oidc.example";
    const { res } = await throughIdp(browser, setup, { account: account("op-skipper", email), amr: ["pwd"] }, { acr_values: "aal2" });
    expect(res.headers.location).toBe("/us/mfa/setup");
    await browser.get("/us/mfa/setup");

    const skipped = await browser.post("/us/mfa/setup/skip", {});
    expect(skipped.status).toBe(401);
    expect(sessionCookieSet(skipped)).toBe(false);
    expect(await ssoLogins(setup.tenantId)).toHaveLength(0);
    const user = await f.t.container.infra.db.user.findFirstOrThrow({ where: { tenantId: setup.tenantId, email } });
    expect(await f.t.container.sessions.listUserSessions(user.id)).toEqual([]);
  });

  it("asks a user who has a TOTP for a code, and the app gets aal2 after it", async () => {
    const setup = await oidcTenantWithApp();
    const email = "linus@oidc.example";
    const first = new CookieBrowser(f.t.app);
    const enrolment = await throughIdp(first, setup, { account: account("op-linus", email), amr: ["pwd"] }, { acr_values: "aal2" });
    expect(enrolment.res.headers.location).toBe("/us/mfa/setup");
    const { secret } = await enrolAndReturn(f, first);

    // Another browser, the next aal2 request: a code is asked for, not a new enrolment.
    const browser = new CookieBrowser(f.t.app);
    const { request, res } = await throughIdp(browser, setup, { account: account("op-linus", email), amr: ["pwd"] }, { acr_values: "aal2" });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/us/login/mfa");
    expect(sessionCookieSet(res)).toBe(false);
    await browser.get("/us/login/mfa");
    const mfa = await browser.post("/us/login/mfa", { code: oathtoolCode(secret, f.clock.now()) });
    f.clock.advance(STEP_MS);
    expect(mfa.status).toBe(303);
    const back = await followWithinGatehouse(browser, f.t.publicUrl, String(mfa.headers.location));
    const claims = (await redeem(setup.config, request, back.leftTo!)).claims()!;
    expect(claims).toMatchObject({ email, acr: "aal2" });
    expect(claims.amr).toEqual(expect.arrayContaining(["pwd", "otp", "mfa"]));
    expect(claims.amr).toHaveLength(3);
    const logins = await ssoLogins(setup.tenantId);
    expect(logins).toHaveLength(2);
    expect(logins[1]).toMatchObject({ protocol: "oidc", localSecondFactor: true });
  });

  it("steps up an aal1 session from an earlier IdP login when the app later asks for aal2", async () => {
    const setup = await oidcTenantWithApp();
    const browser = new CookieBrowser(f.t.app);
    const email = "ada@oidc.example";
    const first = await throughIdp(browser, setup, { account: account("op-ada", email), amr: ["pwd"] });
    const aal1 = await followWithinGatehouse(browser, f.t.publicUrl, String(first.res.headers.location));
    expect((await redeem(setup.config, first.request, aal1.leftTo!)).claims()).toMatchObject({ acr: "aal1" });

    // The aal1 session is not enough: back to the IdP, which again uses one factor; held for the local factor.
    f.clock.advance(60_000);
    const stepUp = await throughIdp(browser, setup, { account: account("op-ada", email), amr: ["pwd"] }, { acr_values: "aal2" });
    expect(stepUp.res.headers.location).toBe("/us/mfa/setup");
    const { leftTo } = await enrolAndReturn(f, browser);
    expect((await redeem(setup.config, stepUp.request, leftTo)).claims()).toMatchObject({ email, acr: "aal2" });
  });
});

describe("an app that asks for aal2, an IdP that reports MFA", () => {
  it.each<[string, Pick<Extract<OpLogin, { account: unknown }>, "acr" | "amr">, string[]]>([
    ["amr with mfa", { amr: ["pwd", "otp", "mfa"] }, ["pwd", "otp", "mfa"]],
    // amr as the contract has it: `mfa` for any second factor, here one only the IdP's acr named.
    ["the REFEDS MFA acr", { acr: MFA_CONTEXT, amr: ["pwd"] }, ["pwd", "mfa"]],
  ])("takes the IdP's second factor (%s): no local TOTP, the app gets aal2", async (_name, reported, amr) => {
    const setup = await oidcTenantWithApp();
    const browser = new CookieBrowser(f.t.app);
    const email = `mfa-${setup.slug}@oidc.example`;
    const { request, res } = await throughIdp(browser, setup, { account: account(`op-${setup.slug}`, email), ...reported }, { acr_values: "aal2" });
    expect(res.status).toBe(303);
    expect(String(res.headers.location)).toMatch(/^\/oidc\/interaction\//);
    expect(browser.cookies.has("gh_pending")).toBe(false);

    const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, String(res.headers.location));
    const claims = (await redeem(setup.config, request, leftTo!)).claims()!;
    expect(claims).toMatchObject({ email, acr: "aal2", amr });
    const user = await f.t.container.infra.db.user.findFirstOrThrow({ where: { tenantId: setup.tenantId, email } });
    expect(user.totpSecret).toBeNull();
    const logins = await ssoLogins(setup.tenantId);
    expect(logins).toHaveLength(1);
    // The audit keeps what the IdP said.
    expect(logins[0]).toMatchObject({ protocol: "oidc", amr: reported.amr, authnContext: reported.acr ?? null });
    expect(logins[0]).not.toHaveProperty("localSecondFactor");
  });

  it("does not count a one-time password alone as a second factor", async () => {
    const setup = await oidcTenantWithApp();
    const browser = new CookieBrowser(f.t.app);
    const { res } = await throughIdp(browser, setup, { account: account("op-otp-only", "otp-only@oidc.example"), amr: ["otp"] }, { acr_values: "aal2" });
    expect(res.headers.location).toBe("/us/mfa/setup");
  });
});

describe("a connection that names its IdP's step-up contexts", () => {
  const TWO_FACTOR = "urn:okta:loa:2fa:any";
  const withContexts = () => oidcTenantWithApp({}, { stepUpContexts: [TWO_FACTOR, "urn:okta:loa:2fa:phishing-resistant"] });

  it("asks the IdP for them when the app wants aal2, and takes the IdP's answer as the second factor", async () => {
    const setup = await withContexts();
    const browser = new CookieBrowser(f.t.app);
    const email = "asked@oidc.example";
    const { request, res, toIdp } = await throughIdp(browser, setup, { account: account("op-asked", email), acr: TWO_FACTOR, amr: ["pwd"] }, { acr_values: "aal2" });
    expect(toIdp.searchParams.get("acr_values")).toBe(`${TWO_FACTOR} urn:okta:loa:2fa:phishing-resistant`);
    expect(String(res.headers.location)).toMatch(/^\/oidc\/interaction\//);
    const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, String(res.headers.location));
    expect((await redeem(setup.config, request, leftTo!)).claims()).toMatchObject({ email, acr: "aal2", amr: ["pwd", "mfa"] });
    const user = await f.t.container.infra.db.user.findFirstOrThrow({ where: { tenantId: setup.tenantId, email } });
    expect(user.totpSecret).toBeNull();
  });

  it("asks nothing when the app does not want aal2", async () => {
    const setup = await withContexts();
    const { toIdp } = await throughIdp(new CookieBrowser(f.t.app), setup, { account: account("op-unasked", "unasked@oidc.example"), amr: ["pwd"] });
    expect(toIdp.searchParams.has("acr_values")).toBe(false);
  });

  it("holds the login for the local TOTP when the IdP answers with another context", async () => {
    const setup = await withContexts();
    const { res, toIdp } = await throughIdp(new CookieBrowser(f.t.app), setup, { account: account("op-lower", "lower@oidc.example"), acr: "urn:okta:loa:1fa:any", amr: ["pwd"] }, { acr_values: "aal2" });
    expect(toIdp.searchParams.get("acr_values")).toContain(TWO_FACTOR);
    expect(res.headers.location).toBe("/us/mfa/setup");
    expect(sessionCookieSet(res)).toBe(false);
  });

  it("starts the login over without them when the IdP cannot give them (unmet_authentication_requirements), then holds it for the local TOTP", async () => {
    const setup = await withContexts();
    const browser = new CookieBrowser(f.t.app);
    const email = "unmet@oidc.example";
    const request = await authorizationRequest(setup.config, setup.app, { acr_values: "aal2" });
    const toIdp = (await followWithinGatehouse(browser, f.t.publicUrl, request.url)).leftTo!;
    expect(toIdp.searchParams.get("acr_values")).toContain(TWO_FACTOR);

    op.loginNext({ error: "unmet_authentication_requirements", description: "the user has no second factor enrolled" });
    const refused = await op.authorize(toIdp.href);
    expect(refused.searchParams.get("error")).toBe("unmet_authentication_requirements");
    const restarted = await browser.get(refused.pathname + refused.search);
    expect(restarted.status).toBe(303);
    const again = new URL(String(restarted.headers.location));
    expect(again.origin + again.pathname).toBe(`${op.issuer}/auth`);
    expect(again.searchParams.has("acr_values")).toBe(false);
    expect(again.searchParams.get("state")).not.toBe(toIdp.searchParams.get("state"));
    // Not a failure of the connection: nothing counts towards its health.
    expect(await failureReasons(f.t, setup.tenantId)).toEqual([]);

    op.loginNext({ account: account("op-unmet", email), amr: ["pwd"] });
    const callback = await op.authorize(again.href);
    const res = await browser.get(callback.pathname + callback.search);
    expect(res.headers.location).toBe("/us/mfa/setup");
    expect(sessionCookieSet(res)).toBe(false);
    const { leftTo } = await enrolAndReturn(f, browser);
    expect((await redeem(setup.config, request, leftTo)).claims()).toMatchObject({ email, acr: "aal2" });
  });

  it("does not start over a login that asked the IdP for nothing: unmet_authentication_requirements is then a refusal", async () => {
    const setup = await withContexts();
    const browser = new CookieBrowser(f.t.app);
    const request = await authorizationRequest(setup.config, setup.app);
    const toIdp = (await followWithinGatehouse(browser, f.t.publicUrl, request.url)).leftTo!;
    expect(toIdp.searchParams.has("acr_values")).toBe(false);
    op.loginNext({ error: "unmet_authentication_requirements" });
    const refused = await op.authorize(toIdp.href);
    const res = await browser.get(refused.pathname + refused.search);
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(await failureReasons(f.t, setup.tenantId)).toEqual(["step_up_unavailable"]);
  });

  it("does not start over for another error of the IdP", async () => {
    const setup = await withContexts();
    const browser = new CookieBrowser(f.t.app);
    const request = await authorizationRequest(setup.config, setup.app, { acr_values: "aal2" });
    const toIdp = (await followWithinGatehouse(browser, f.t.publicUrl, request.url)).leftTo!;
    op.loginNext({ error: "access_denied" });
    const refused = await op.authorize(toIdp.href);
    const res = await browser.get(refused.pathname + refused.search);
    expect(res.status).toBe(400);
    expect(await failureReasons(f.t, setup.tenantId)).toEqual(["idp_error"]);
  });

  it("counts them only for the connection that names them", async () => {
    // The same acr from an IdP whose connection does not name it: one factor, held for the local TOTP.
    const setup = await oidcTenantWithApp();
    const { res, toIdp } = await throughIdp(new CookieBrowser(f.t.app), setup, { account: account("op-unnamed", "unnamed@oidc.example"), acr: TWO_FACTOR, amr: ["pwd"] }, { acr_values: "aal2" });
    expect(toIdp.searchParams.has("acr_values")).toBe(false);
    expect(res.headers.location).toBe("/us/mfa/setup");
  });
});

describe("an app that does not ask for aal2", () => {
  it("signs the IdP login in as it is: no hold, acr aal1", async () => {
    const setup = await oidcTenantWithApp();
    const browser = new CookieBrowser(f.t.app);
    const email = "plain@oidc.example";
    const { request, res } = await throughIdp(browser, setup, { account: account("op-plain", email), amr: ["pwd"] });
    expect(res.status).toBe(303);
    expect(String(res.headers.location)).toMatch(/^\/oidc\/interaction\//);
    expect(sessionCookieSet(res)).toBe(true);
    const { leftTo } = await followWithinGatehouse(browser, f.t.publicUrl, String(res.headers.location));
    expect((await redeem(setup.config, request, leftTo!)).claims()).toMatchObject({ email, acr: "aal1", amr: ["pwd"] });
    expect(await ssoLogins(setup.tenantId)).toHaveLength(1);
  });

  it("still holds the login for the local TOTP when the tenant requires it on top of SSO", async () => {
    const setup = await oidcTenantWithApp({ requireLocalMfaForSso: true });
    const browser = new CookieBrowser(f.t.app);
    const email = "policy@oidc.example";
    const { request, res } = await throughIdp(browser, setup, { account: account("op-policy", email), amr: ["pwd"] });
    expect(res.headers.location).toBe("/us/mfa/setup");
    const { leftTo } = await enrolAndReturn(f, browser);
    expect((await redeem(setup.config, request, leftTo)).claims()).toMatchObject({ email, acr: "aal2" });
  });
});

describe("an amr the IdP did not sign", () => {
  it("is not read from userinfo: MFA claimed only there still gets the local TOTP", async () => {
    const setup = await oidcTenantWithApp();
    const browser = new CookieBrowser(f.t.app);
    const userinfoCalls = op.count("/me");
    // The account's own claims (served by userinfo) say MFA; the signed ID token's amr says one factor.
    const { res } = await throughIdp(browser, setup, { account: account("op-userinfo", "userinfo@oidc.example", { amr: ["mfa"], acr: MFA_CONTEXT }), amr: ["pwd"] }, { acr_values: "aal2" });
    expect(op.count("/me")).toBe(userinfoCalls + 1);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/us/mfa/setup");
    expect(sessionCookieSet(res)).toBe(false);
  });

  it("is not accepted in an ID token whose signature no longer matches: refused, nothing held", async () => {
    const setup = await oidcTenantWithApp();
    const browser = new CookieBrowser(f.t.app);
    op.forgeNextIdToken({ claims: { amr: ["pwd", "otp", "mfa"] }, signature: "original" });
    const { res } = await throughIdp(browser, setup, { account: account("op-tampered", "tampered@oidc.example"), amr: ["pwd"] }, { acr_values: "aal2" });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.location).toBeUndefined();
    expect(sessionCookieSet(res)).toBe(false);
    expect(browser.cookies.has("gh_pending")).toBe(false);
    expect(await ssoLogins(setup.tenantId)).toHaveLength(0);
  });
});
