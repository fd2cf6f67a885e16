// Attack: get around the tenant's login policy through the regional local-login door: sign in as a member where SSO is enforced, bypass SSO unnoticed, come from outside the allowed networks, or use another region's door.
import bcrypt from "bcrypt";
import { startTestApp, type TestApp } from "../support/harness";
import { queuedMails } from "../support/outbox";
import { adminApi, auditOf, CookieBrowser, createTenant, createUser, PASSWORD, passwordStep, type LoginForm } from "../support/login-helpers";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

/** SSO flags are set in the database: the support-staff toggle API does not exist yet. */
const setSso = (slug: string, sso: { ssoEnabled: boolean; ssoEnforced: boolean }) => t.container.infra.db.tenant.update({ where: { slug }, data: sso });
const form = (tenant: string, email: string): LoginForm => ({ tenant, email, password: PASSWORD });

/** The queued mails with one subject. */
const mailsAbout = (subject: string) => queuedMails(t.container.infra.db, { subject });

describe("a tenant that enforces SSO", () => {
  let slug: string;
  beforeAll(async () => {
    slug = await createTenant(t);
    await createUser(t, slug, { email: "member@enforced.example", kind: "member" });
    await createUser(t, slug, { email: "breakglass@enforced.example", kind: "member", ssoBypass: true });
    await createUser(t, slug, { email: "contractor@enforced.example", kind: "contractor" });
    await setSso(slug, { ssoEnabled: true, ssoEnforced: true });
  });

  it("refuses a member not on the bypass list, after a correct password, with a 403 page linking to its SSO", async () => {
    const browser = new CookieBrowser(t.app);
    const res = await passwordStep(browser, form(slug, "member@enforced.example"));
    expect(res.status).toBe(403);
    expect(res.text).toContain(`href="/sso/${slug}/start"`);
    expect(browser.cookies.has("gh_pending")).toBe(false);
    expect(await auditOf(t, res)).toEqual([expect.objectContaining({ type: "login.failed", data: expect.objectContaining({ reason: "sso_required" }) })]);
  });

  it("does not reveal the policy before the password is right: a wrong one gets the usual 401", async () => {
    const res = await passwordStep(new CookieBrowser(t.app), { ...form(slug, "member@enforced.example"), password: "not the password" });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain("/sso/");
  });

  it.each([
    ["a member on the bypass list", "breakglass@enforced.example"],
    ["a contractor", "contractor@enforced.example"],
  ])("lets %s continue to the second step", async (_who, email) => {
    const res = await passwordStep(new CookieBrowser(t.app), form(slug, email));
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/us/mfa/setup");
  });

  it("refuses a member whose tenant started enforcing SSO while the second step was pending", async () => {
    const late = await createTenant(t, { mfaRequired: false });
    await createUser(t, late, { email: "member@late.example", kind: "member" });
    const browser = new CookieBrowser(t.app);
    expect((await passwordStep(browser, form(late, "member@late.example"))).status).toBe(303);
    await setSso(late, { ssoEnabled: true, ssoEnforced: true });
    const finish = await browser.post("/us/mfa/setup/skip", {});
    expect(finish.status).toBe(403);
    expect(browser.cookies.has("gh_session")).toBe(false);
    const user = await t.container.infra.db.user.findFirstOrThrow({ where: { emailKey: "member@late.example" } });
    expect(await t.container.sessions.listUserSessions(user.id)).toEqual([]);
  });
});

describe("a bypass login (member, SSO enabled but not enforced)", () => {
  it("is allowed, audited as login.bypass, and mailed to the tenant's active admins and security contact", async () => {
    const slug = await createTenant(t, { mfaRequired: false, securityContactEmail: "soc@bypass.example" });
    await createUser(t, slug, { email: "member@bypass.example", kind: "member" });
    await createUser(t, slug, { email: "admin@bypass.example", kind: "member", role: "admin" });
    const retired = await createUser(t, slug, { email: "retired-admin@bypass.example", kind: "member", role: "admin" });
    await adminApi(t).patch(`/api/v1/tenants/${slug}/users/${retired}`).send({ status: "deactivated" }).expect(200);
    await setSso(slug, { ssoEnabled: true, ssoEnforced: false });

    const browser = new CookieBrowser(t.app);
    expect((await passwordStep(browser, form(slug, "member@bypass.example"))).headers.location).toBe("/us/mfa/setup");
    const done = await browser.post("/us/mfa/setup/skip", {});
    expect(done.status).toBe(303);
    expect((await auditOf(t, done)).map((e) => e.type)).toEqual(["login.succeeded", "login.bypass"]);

    const mails = await mailsAbout(`Bypass sign-in to Tenant ${slug}`);
    const recipients = mails.map((mail) => /^To: (.+)$/m.exec(mail)?.[1]).sort();
    expect(recipients).toEqual(["admin@bypass.example", "soc@bypass.example"]);
    expect(mails[0]).toContain("member@bypass.example");
  });
});

describe("network and region", () => {
  it("refuses a tenant's login from outside its IP allowlist with 403, even with the right password", async () => {
    const slug = await createTenant(t, { ipAllowlist: ["10.0.0.0/8"] });
    await createUser(t, slug, { email: "user@allowlist.example" });
    const res = await passwordStep(new CookieBrowser(t.app), form(slug, "user@allowlist.example"));
    expect(res.status).toBe(403);
    expect(res.text).toContain("<h1>Access denied</h1>");
  });

  it("sends a tenant of another region to its own region's login, without checking the password here", async () => {
    const slug = await createTenant(t, { region: "eu" });
    await createUser(t, slug, { email: "user@eu.example" });
    const browser = new CookieBrowser(t.app);
    const compare = jest.spyOn(bcrypt, "compare");
    const res = await passwordStep(browser, form(slug, "user@eu.example")).finally(() => compare.mockRestore());
    expect(compare).not.toHaveBeenCalled();
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(new RegExp(`/eu/login\\?tenant=${slug}$`));
    expect(browser.cookies.has("gh_pending")).toBe(false);
  });

  it("answers 404 for a region this deployment does not serve", async () => {
    const browser = new CookieBrowser(t.app);
    expect((await browser.get("/zz/login")).status).toBe(404);
    await browser.get("/us/login");
    expect((await browser.post("/zz/login", { tenant: "x", email: "x@example.com", password: PASSWORD })).status).toBe(404);
  });
});
