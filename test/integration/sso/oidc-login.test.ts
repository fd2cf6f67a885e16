// A tenant's users sign in through the tenant's OpenID Provider (a real oidc-provider on 127.0.0.1):
// code flow with PKCE, linking by verified email or JIT provisioning, and the session that results.
import type { TestApp } from "../../support/harness";
import { adminApi, CookieBrowser, createUser } from "../../support/login-helpers";
import { startTestOp, type TestOp } from "../../support/oidc-op";
import { callbackFor, deliver, failureReasons, GATEHOUSE_URL, oidcLogin, oidcTenant, outcomeOf, refused, sessionCookieOf, startSso, userCount } from "../../support/oidc-login";
import { withOidcSso } from "../../support/oidc-sso-setup";

let t: TestApp;
let op: TestOp;
withOidcSso((started) => void ({ t, op } = started));

const db = () => t.container.infra.db;
const account = (sub: string, email: string, extra: Record<string, unknown> = {}) =>
  ({ sub, email, email_verified: true, given_name: "Ada", family_name: "Lovelace", name: "Ada Lovelace", ...extra });

describe("GET /sso/{tenant}/start", () => {
  it("sends the browser to the OP: code flow, PKCE S256, state, nonce, the tenant's exact redirect URI", async () => {
    const tenant = await oidcTenant(t, op);
    const { res, authorizationUrl } = await startSso(new CookieBrowser(t.app), tenant.slug);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${op.issuer}/auth`);
    const q = authorizationUrl.searchParams;
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe(tenant.clientId);
    expect(q.get("redirect_uri")).toBe(`${GATEHOUSE_URL}/sso/${tenant.slug}/oidc/callback`);
    expect(q.get("scope")).toBe("openid email profile");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The verifier, nonce and return_to stay on the server: nothing but the opaque state names them.
    expect(authorizationUrl.href).not.toContain("return_to");
  });
});

describe("the callback", () => {
  it("links a pre-provisioned user by verified email: 303 to return_to with a session that opens /account", async () => {
    const tenant = await oidcTenant(t, op);
    const userId = await createUser(t, tenant.slug, { email: "ada@oidc.example", kind: "member", password: undefined });
    const { res, browser } = await oidcLogin(t, op, tenant.slug, { account: account("op-ada", "ada@oidc.example"), acr: "urn:test:loa:2", amr: ["pwd", "otp", "mfa"] }, { returnTo: "/account?tab=sessions" });

    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/account?tab=sessions");
    expect(sessionCookieOf(res)).toBeDefined();
    const page = await browser.get("/account");
    expect(page.status).toBe(200);
    expect(page.text).toContain("ada@oidc.example");

    const identity = await db().externalIdentity.findFirstOrThrow({ where: { connectionId: tenant.connectionId } });
    expect(identity).toMatchObject({ userId, subject: "op-ada" });
    const [session] = await t.container.sessions.listUserSessions(userId);
    expect(session).toMatchObject({ method: "oidc", assurance: "aal2", amr: ["pwd", "otp", "mfa"], sso: { connectionId: tenant.connectionId, authnContext: "urn:test:loa:2" } });
    // The ID token is kept as the hint for RP-initiated logout: a JWT issued by the OP for our client.
    const payload = JSON.parse(Buffer.from(session!.sso!.idTokenHint!.split(".")[1]!, "base64url").toString());
    expect(payload).toMatchObject({ iss: op.issuer, aud: tenant.clientId, sub: "op-ada" });

    const succeeded = await db().auditEvent.findFirstOrThrow({ where: { tenantId: tenant.tenantId, type: "sso.login.succeeded" } });
    expect(succeeded.data).toMatchObject({ connectionId: tenant.connectionId, protocol: "oidc", link: "first_link", authnContext: "urn:test:loa:2" });
  });

  it("signs a linked user in again by subject, even after the email changed at the IdP", async () => {
    const tenant = await oidcTenant(t, op);
    await createUser(t, tenant.slug, { email: "grace@oidc.example", kind: "member", password: undefined });
    expect((await oidcLogin(t, op, tenant.slug, { account: account("op-grace", "grace@oidc.example") })).res.status).toBe(303);
    const again = await oidcLogin(t, op, tenant.slug, { account: account("op-grace", "grace.hopper@renamed.example") });
    expect(again.res.status).toBe(303);
    expect((await again.browser.get("/account")).text).toContain("grace@oidc.example");
  });

  it("creates the user on first login when the connection provisions just in time", async () => {
    const tenant = await oidcTenant(t, op, { provisioning: "jit" });
    const userinfoCalls = op.count("/me");
    const { res, browser } = await oidcLogin(t, op, tenant.slug, { account: account("op-new", "new.person@oidc.example") });
    expect(res.status).toBe(303);
    // This OP keeps profile claims out of the ID token (the spec default): they came from userinfo.
    expect(op.count("/me")).toBe(userinfoCalls + 1);
    expect(res.headers.location).toBe("/account");
    expect((await browser.get("/account")).text).toContain("new.person@oidc.example");
    const user = await db().user.findFirstOrThrow({ where: { tenantId: tenant.tenantId } });
    expect(user).toMatchObject({ email: "new.person@oidc.example", name: "Ada Lovelace", kind: "member", status: "active" });
  });

  it("reads claims under the connection's claim mapping", async () => {
    const tenant = await oidcTenant(t, op, { provisioning: "jit", claimMapping: { email: "corp_mail", firstName: "corp_first", lastName: "corp_last" } });
    const { res } = await oidcLogin(t, op, tenant.slug, {
      account: { sub: "op-mapped", corp_mail: "mapped@oidc.example", email_verified: true, corp_first: "Mary", corp_last: "Jackson", email: "other@elsewhere.example" },
    });
    expect(res.status).toBe(303);
    const user = await db().user.findFirstOrThrow({ where: { tenantId: tenant.tenantId } });
    expect(user).toMatchObject({ email: "mapped@oidc.example", name: "Mary Jackson" });
  });

  it("refuses an email the IdP does not call verified: 403 page, no session, no user", async () => {
    const tenant = await oidcTenant(t, op, { provisioning: "jit" });
    const { res } = await oidcLogin(t, op, tenant.slug, { account: account("op-unverified", "unverified@oidc.example", { email_verified: false }) });
    expect(res.status).toBe(403);
    expect(res.headers.location).toBeUndefined();
    expect(res.text).toContain("Single sign-on failed");
    expect(sessionCookieOf(res)).toBeUndefined();
    expect(await userCount(t, tenant.tenantId)).toBe(0);
    expect(await failureReasons(t, tenant.tenantId)).toEqual(["email_unverified"]);
  });

  it("refuses a deactivated user, linked or not", async () => {
    const tenant = await oidcTenant(t, op);
    const userId = await createUser(t, tenant.slug, { email: "gone@oidc.example", kind: "member", password: undefined });
    expect((await oidcLogin(t, op, tenant.slug, { account: account("op-gone", "gone@oidc.example") })).res.status).toBe(303);
    await adminApi(t).patch(`/api/v1/tenants/${tenant.slug}/users/${userId}`).send({ status: "deactivated" }).expect(200);

    const { res } = await oidcLogin(t, op, tenant.slug, { account: account("op-gone", "gone@oidc.example") });
    expect(res.status).toBe(403);
    expect(sessionCookieOf(res)).toBeUndefined();
    expect(await failureReasons(t, tenant.tenantId)).toEqual(["user_deactivated"]);
  });

  it("sends the browser to /account when return_to pointed off-site", async () => {
    const tenant = await oidcTenant(t, op, { provisioning: "jit" });
    const { res } = await oidcLogin(t, op, tenant.slug, { account: account("op-redirect", "redirect@oidc.example") }, { returnTo: "https://evil.example/phish" });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/account");
  });

  it("answers 404 for a tenant without an OIDC connection", async () => {
    const res = await new CookieBrowser(t.app).get("/sso/no-such-tenant/oidc/callback?code=x&state=y");
    expect(res.status).toBe(404);
    expect(res.headers.location).toBeUndefined();
  });

  it("authenticates to the token endpoint with client_secret_basic", async () => {
    const tenant = await oidcTenant(t, op);
    await createUser(t, tenant.slug, { email: "basic@oidc.example", kind: "member", password: undefined });
    const before = op.tokenRequestAuthorizations.length;
    expect((await oidcLogin(t, op, tenant.slug, { account: account("op-basic", "basic@oidc.example") })).res.status).toBe(303);
    const [authorization] = op.tokenRequestAuthorizations.slice(before);
    expect(authorization).toMatch(/^Basic /);
    // RFC 6749 §2.3.1: id and secret form-encoded, then joined by a colon.
    const [id, secret] = Buffer.from(authorization!.slice(6), "base64").toString().split(":").map(decodeURIComponent);
    expect([id, secret]).toEqual([tenant.clientId, tenant.clientSecret]);
  });
});

describe("an OP that puts the claims in the ID token", () => {
  let rich: TestOp;
  beforeAll(async () => {
    rich = await startTestOp({ claimsInIdToken: true });
  });
  afterAll(() => rich.close());

  it("signs in without calling userinfo", async () => {
    const tenant = await oidcTenant(t, rich, { provisioning: "jit" });
    const { res } = await oidcLogin(t, rich, tenant.slug, { account: account("rich-1", "rich@oidc.example") });
    expect(res.status).toBe(303);
    expect(rich.count("/me")).toBe(0);
    expect(await db().user.findFirst({ where: { tenantId: tenant.tenantId, email: "rich@oidc.example" } })).not.toBeNull();
  });
});

describe("IdP trouble at the token endpoint", () => {
  it("records a wrong client secret as client_auth_failed (a 4xx page, no session)", async () => {
    const tenant = await oidcTenant(t, op, { provisioning: "jit" });
    await adminApi(t).patch(`/api/v1/tenants/${tenant.slug}/sso-connections/${tenant.connectionId}`).send({ clientSecret: "not-the-registered-secret" }).expect(200);
    const { res } = await oidcLogin(t, op, tenant.slug, { account: account("op-secret", "secret@oidc.example") });
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "client_auth_failed"));
  });

  it("records an IdP that stops answering as idp_unreachable", async () => {
    const flaky = await startTestOp();
    const tenant = await oidcTenant(t, flaky, { provisioning: "jit" });
    const browser = new CookieBrowser(t.app);
    const callback = await callbackFor(flaky, browser, tenant.slug, { account: account("op-flaky", "flaky@oidc.example") });
    await flaky.close();
    const res = await deliver(browser, callback);
    expect(await outcomeOf(t, tenant, res)).toEqual(refused(400, "idp_unreachable"));
  });
});
