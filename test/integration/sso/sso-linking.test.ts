// What an SSO login stands for, once the protocol checks passed: identities are keyed by (connection,
// subject), email links only an active user of an allowed domain, JIT only when the connection says so.
import supertest from "supertest";
import { oathtoolCode, textOf } from "../../support/browser";
import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";
import { CookieBrowser } from "../../support/login-helpers";
import type { SsoAuthentication } from "../../../src/sso/sso-login.service";
import { makeCertificates } from "./fixtures";

let t: TestApp;
let certs: ReturnType<typeof makeCertificates>;
const client = { ip: "198.51.100.20", userAgent: "jest" };

beforeAll(async () => {
  certs = makeCertificates();
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

async function ssoTenant(options: { provisioning?: "jit" | "pre-provisioned"; emailDomains?: string[]; ipAllowlist?: string[] } = {}) {
  const slug = uniqueSlug("link");
  await t.api().post("/api/v1/tenants").send({ slug, name: "Link Co", region: "us", emailDomains: options.emailDomains ?? [], ipAllowlist: options.ipAllowlist ?? [] }).expect(201);
  await t.api().post(`/api/v1/tenants/${slug}/sso-connections`)
    .send({ type: "saml", idpEntityId: `https://idp.example/${slug}`, ssoUrl: "https://idp.example/sso", certificates: [certs.second], provisioning: options.provisioning ?? "pre-provisioned" })
    .expect(201);
  await t.api().put(`/api/v1/tenants/${slug}/sso`).send({ enabled: true, enforced: false }).expect(200);
  const target = await t.container.ssoLogin.target(slug);
  return { slug, ...target };
}

const auth = (subject: string, email?: string, extra: Partial<SsoAuthentication["claims"]> = {}): SsoAuthentication => ({
  claims: { subject, email, emailVerified: true, ...extra },
  amr: [],
  sso: { authnContext: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", nameId: subject },
});

type CompleteInput = Omit<Parameters<TestApp["container"]["ssoLogin"]["complete"]>[0], "returnTo" | "browserId">;
const login = (input: CompleteInput) => t.container.ssoLogin.complete({ returnTo: "/account", browserId: "b".repeat(43), ...input });
/** The session of a completion that did not stop for a local factor. */
async function sessionOf(input: CompleteInput) {
  const done = await login(input);
  if (done.kind !== "session") throw new Error(`expected a session, got ${done.kind}`);
  return done;
}

const userCount = (tenantId: string) => t.container.infra.db.user.count({ where: { tenantId } });
const identityCount = (tenantId: string) => t.container.infra.db.externalIdentity.count({ where: { tenantId } });

describe("pre-provisioned linking", () => {
  it("links the first login to the active user with that email, then recognises the subject alone", async () => {
    const target = await ssoTenant({ emailDomains: ["link.example"] });
    const userId = (await t.api().post(`/api/v1/tenants/${target.slug}/users`).send({ email: "Ann@Link.example", name: "Ann", kind: "member" }).expect(201)).body.id;

    const first = await sessionOf({ ...target, auth: auth("idp-ann", "ann@link.example"), client });
    expect(first.userId).toBe(userId);
    expect(first.session).toMatchObject({ method: "saml", assurance: "aal1", email: "Ann@Link.example", tenantSlug: target.slug, sso: { connectionId: target.connection.id, nameId: "idp-ann" } });
    // Later logins go by the subject: the IdP may report another email, the account stays the same.
    const again = await login({ ...target, auth: auth("idp-ann", "renamed@link.example"), client });
    expect(again.userId).toBe(userId);
    expect(await identityCount(target.tenant.id)).toBe(1);
    const events = (await t.api().get(`/api/v1/tenants/${target.slug}/audit-events`).query({ type: "sso.login.succeeded" })).body.items;
    expect(events.map((e: { data: { link: string } }) => e.data.link)).toEqual(["linked", "first_link"]);
  });

  it("refuses an unknown email, an unverified one and one outside the tenant's domains, creating no one", async () => {
    const target = await ssoTenant({ emailDomains: ["link.example"] });
    await t.api().post(`/api/v1/tenants/${target.slug}/users`).send({ email: "bob@other.example", name: "Bob", kind: "member" }).expect(201);
    const before = await userCount(target.tenant.id);
    await expect(login({ ...target, auth: auth("s1", "nobody@link.example"), client })).rejects.toMatchObject({ code: "sso_account_unavailable", reason: "no_matching_user" });
    await expect(login({ ...target, auth: auth("s2", "bob@other.example"), client })).rejects.toMatchObject({ reason: "email_domain_not_allowed" });
    await expect(login({ ...target, auth: auth("s3", "x@link.example", { emailVerified: false }), client })).rejects.toMatchObject({ reason: "email_unverified" });
    await expect(login({ ...target, auth: auth("s4"), client })).rejects.toMatchObject({ reason: "email_missing" });
    expect(await userCount(target.tenant.id)).toBe(before);
    expect(await identityCount(target.tenant.id)).toBe(0);
  });

  it("a second IdP subject with the same email cannot take over an already linked user", async () => {
    // Attack: the IdP account's email is reassigned (or spoofed) to match a user who is already linked.
    const target = await ssoTenant();
    await t.api().post(`/api/v1/tenants/${target.slug}/users`).send({ email: "cat@link.example", name: "Cat", kind: "member" }).expect(201);
    await login({ ...target, auth: auth("cat-original", "cat@link.example"), client });
    await expect(login({ ...target, auth: auth("cat-impostor", "cat@link.example"), client })).rejects.toMatchObject({ reason: "user_linked_elsewhere" });
  });

  it("refuses a deactivated user, linked or not", async () => {
    const target = await ssoTenant();
    const dan = (await t.api().post(`/api/v1/tenants/${target.slug}/users`).send({ email: "dan@link.example", name: "Dan", kind: "member" }).expect(201)).body.id;
    await login({ ...target, auth: auth("dan", "dan@link.example"), client });
    await t.api().patch(`/api/v1/tenants/${target.slug}/users/${dan}`).send({ status: "deactivated" }).expect(200);
    await expect(login({ ...target, auth: auth("dan", "dan@link.example"), client })).rejects.toMatchObject({ reason: "user_deactivated" });
    const eve = (await t.api().post(`/api/v1/tenants/${target.slug}/users`).send({ email: "eve@link.example", name: "Eve", kind: "member" }).expect(201)).body.id;
    await t.api().patch(`/api/v1/tenants/${target.slug}/users/${eve}`).send({ status: "deactivated" }).expect(200);
    await expect(login({ ...target, auth: auth("eve", "eve@link.example"), client })).rejects.toMatchObject({ reason: "user_deactivated" });
  });

  it("applies the tenant's IP allowlist at SSO completion", async () => {
    const target = await ssoTenant({ ipAllowlist: ["203.0.113.0/24"] });
    await t.api().post(`/api/v1/tenants/${target.slug}/users`).send({ email: "fay@link.example", name: "Fay", kind: "member" }).expect(201);
    await expect(login({ ...target, auth: auth("fay", "fay@link.example"), client })).rejects.toMatchObject({ reason: "ip_not_allowed" });
    const ok = await login({ ...target, auth: auth("fay", "fay@link.example"), client: { ip: "203.0.113.5" } });
    expect(ok.userId).toEqual(expect.any(String));
  });

  it("refuses once support switches SSO off, even for a flow already under way", async () => {
    const target = await ssoTenant();
    await t.api().post(`/api/v1/tenants/${target.slug}/users`).send({ email: "gus@link.example", name: "Gus", kind: "member" }).expect(201);
    await t.api().put(`/api/v1/tenants/${target.slug}/sso`).send({ enabled: false, enforced: false }).expect(200);
    // The IdP's answer arrives after the switch: the endpoint reads the tenant afresh, as the ACS and callback do.
    const now = await t.container.ssoLogin.connectionFor(target.slug, "saml");
    expect(now?.tenant.ssoEnabled).toBe(false);
    await expect(login({ ...now!, auth: auth("gus", "gus@link.example"), client })).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("JIT provisioning", () => {
  it("creates a member from the asserted attributes, audited, and links it", async () => {
    const target = await ssoTenant({ provisioning: "jit", emailDomains: ["jit.example"] });
    const done = await login({ ...target, auth: auth("new-hire", "hal@jit.example", { firstName: "Hal", lastName: "Jones" }), client });
    const user = (await t.api().get(`/api/v1/tenants/${target.slug}/users/${done.userId}`).expect(200)).body;
    expect(user).toMatchObject({ email: "hal@jit.example", name: "Hal Jones", kind: "member", role: "user", status: "active" });
    const created = (await t.api().get(`/api/v1/tenants/${target.slug}/audit-events`).query({ type: "user.created" })).body.items;
    expect(created[0]).toMatchObject({ data: { via: "sso_jit" }, target: { id: done.userId } });
    await expect(login({ ...target, auth: auth("outsider", "ivy@elsewhere.example"), client })).rejects.toMatchObject({ reason: "email_domain_not_allowed" });
  });

  it("an IdP that reports MFA gives an aal2 session", async () => {
    const target = await ssoTenant({ provisioning: "jit" });
    const done = await sessionOf({ ...target, auth: { ...auth("mfa-user", "mfa@jit.example"), amr: ["pwd", "otp", "mfa"] }, client });
    expect(done.session.assurance).toBe("aal2");
  });
});

describe("tenant asks for the local TOTP on top of SSO (requireLocalMfaForSso)", () => {
  it("holds the SSO login for enrolment, then gives an SSO session with both factors; skipping is refused", async () => {
    const target = await ssoTenant({ provisioning: "jit" });
    await t.api().patch(`/api/v1/tenants/${target.slug}`).send({ requireLocalMfaForSso: true, mfaRequired: false }).expect(200);
    Object.assign(target, await t.container.ssoLogin.connectionFor(target.slug, "saml"));
    const browser = new CookieBrowser(t.app);
    const browserId = "c".repeat(43);
    browser.cookies.set("gh_browser", browserId);
    const held = await t.container.ssoLogin.complete({ ...target, auth: auth("held", "held@jit.example"), client, returnTo: "/account", browserId });
    expect(held).toMatchObject({ kind: "second_factor", location: "/us/mfa/setup" });
    if (held.kind !== "second_factor") return;
    browser.cookies.set("gh_pending", held.pendingToken);
    // Not yet a login: nothing audited as succeeded, and the page offers no way around the factor.
    expect((await t.api().get(`/api/v1/tenants/${target.slug}/audit-events`).query({ type: "sso.login.succeeded" })).body.items).toHaveLength(0);
    const setup = await browser.get("/us/mfa/setup");
    expect(setup.text).not.toContain("/us/mfa/setup/skip");
    expect((await browser.post("/us/mfa/setup/skip", {})).status).toBe(401);

    const again = await t.container.ssoLogin.complete({ ...target, auth: auth("held", "held@jit.example"), client, returnTo: "/account", browserId });
    if (again.kind !== "second_factor") throw new Error("expected the local factor again");
    browser.cookies.set("gh_pending", again.pendingToken);
    const secret = textOf((await browser.get("/us/mfa/setup")).text, "totp-secret");
    const done = await browser.post("/us/mfa/setup", { code: oathtoolCode(secret, new Date()) });
    expect(done.status).toBe(303);
    const session = await supertest(t.app).get("/api/v1/session").set("Cookie", `gh_session=${browser.cookies.get("gh_session")}`).expect(200);
    expect(session.body).toMatchObject({ method: "saml", assurance: "aal2", user: { email: "held@jit.example" } });
    expect(session.body.amr).toEqual(expect.arrayContaining(["otp", "mfa"]));
    expect(session.body.amr).not.toContain("pwd");
    const events = (await t.api().get(`/api/v1/tenants/${target.slug}/audit-events`).query({ type: "sso.login.succeeded" })).body.items;
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ localSecondFactor: true, connectionId: target.connection.id });
  });
});

describe("/login with SSO on", () => {
  it("sends the account to its identity provider, keeping return_to", async () => {
    const target = await ssoTenant();
    const res = await t.api().get("/login").query({ tenant: target.slug, return_to: "/account" }).redirects(0);
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(new RegExp(`/sso/${target.slug}/start\\?return_to=%2Faccount$`));
  });
});
