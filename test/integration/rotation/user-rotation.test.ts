import { TestBrowser } from "../../support/browser";
import { startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

let t: TestApp;
let slug: string;
let tenantId: string;
const password = "correct horse battery staple";
let invalid = 0;

beforeAll(async () => {
  t = await startTestApp();
  slug = uniqueSlug("rot-user");
  const tenant = await t.api().post("/api/v1/tenants").send({ slug, name: "Rotate Co", region: "us", mfaRequired: false }).expect(201);
  tenantId = tenant.body.id;
});
afterAll(async () => {
  await t.close();
});

const userUrl = (id: string) => `/api/v1/tenants/${slug}/users/${id}`;
const resetUrl = (id: string) => `${userUrl(id)}/password-reset`;

/** A local user with a password; a unique address per test so outbox rows can be told apart. */
async function createUser(label: string, body: Record<string, unknown> = {}): Promise<{ id: string; email: string }> {
  const email = `${label}-${slug}@rotate.example`;
  const res = await t.api().post(`/api/v1/tenants/${slug}/users`).send({ email, name: label, kind: "contractor", password, ...body }).expect(201);
  return { id: res.body.id, email };
}

async function startSession(userId: string): Promise<string> {
  const { token } = await t.container.sessions.startSession({
    user: { id: userId, tenantId, email: "someone@example.test", name: "Someone" }, tenant: { slug: "any", region: "us", sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
    method: "password", assurance: "aal2", amr: ["pwd", "otp"], ip: "203.0.113.7", userAgent: "jest",
  });
  return token;
}

const rotationMails = (to: string) => t.container.infra.db.mailOutbox.findMany({ where: { to, kind: "password_rotation" } });
const rotationAudits = (userId: string) =>
  t.container.infra.db.auditEvent.findMany({ where: { type: "password.rotation_required", targetType: "user", targetId: userId }, orderBy: { id: "asc" } });

async function passwordStep(email: string, pw = password) {
  const browser = new TestBrowser(t.app);
  await browser.get(`/us/login?tenant=${slug}`);
  const res = await browser.post("/us/login", { tenant: slug, email, password: pw });
  return { browser, res };
}

describe("POST /api/v1/tenants/{slug}/users/{id}/password-reset", () => {
  it("reset_required: flags the user, ends their sessions, queues a notice, audits, and the old password stops working", async () => {
    const user = await createUser("reset");
    const token = await startSession(user.id);
    expect((await passwordStep(user.email)).res.headers.location).toBe("/us/mfa/setup");

    const res = await t.api().post(resetUrl(user.id)).send({ mode: "reset_required" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, passwordRotation: "reset_required", hasPassword: true });
    expect((await t.api().get(userUrl(user.id)).expect(200)).body.passwordRotation).toBe("reset_required");

    expect(await t.container.sessions.validate(token)).toBeNull();
    expect(await t.container.sessions.listUserSessions(user.id)).toHaveLength(0);

    const mails = await rotationMails(user.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ tenantId, status: "pending", subject: expect.stringContaining("reset your Rotate Co password") });
    expect(mails[0]!.text).toContain("/us/password/forgot");

    const audits = await rotationAudits(user.id);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ tenantId, actorType: "api_key", requestId: res.headers["x-request-id"], data: { mode: "reset_required", revokeSessions: true, notified: true } });

    // The correct password is now refused exactly like a wrong one.
    const right = await passwordStep(user.email);
    const wrong = await passwordStep(user.email, "not the password at all");
    expect(right.res.status).toBe(401);
    expect(right.res.headers.location).toBeUndefined();
    expect(wrong.res.status).toBe(401);
  });

  it("change_at_next_login with revokeSessions false: sessions stay, a notice is queued, the next login lands on the password change", async () => {
    const user = await createUser("change");
    const token = await startSession(user.id);

    const res = await t.api().post(resetUrl(user.id)).send({ mode: "change_at_next_login", revokeSessions: false });
    expect(res.status).toBe(200);
    expect(res.body.passwordRotation).toBe("change_at_next_login");
    expect(await t.container.sessions.validate(token)).not.toBeNull();

    const mails = await rotationMails(user.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toContain("change your Rotate Co password");
    expect((await rotationAudits(user.id))[0]!.data).toEqual({ mode: "change_at_next_login", revokeSessions: false, notified: true });

    const { browser, res: step } = await passwordStep(user.email);
    expect(step.status).toBe(303);
    expect(step.headers.location).toBe("/us/mfa/setup");
    await browser.get("/us/mfa/setup");
    const done = await browser.post("/us/mfa/setup/skip", {});
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe("/us/password/change");
    // The restricted session reaches nothing else.
    expect((await browser.get("/account")).status).toBe(403);
  });

  it("with notify false queues no mail", async () => {
    const user = await createUser("quiet");
    const res = await t.api().post(resetUrl(user.id)).send({ mode: "reset_required", notify: false });
    expect(res.status).toBe(200);
    expect(res.body.passwordRotation).toBe("reset_required");
    expect(await rotationMails(user.email)).toHaveLength(0);
    expect((await rotationAudits(user.id))[0]!.data).toMatchObject({ notified: false });
  });

  it("never mails a deactivated user, though the flag is set and audited", async () => {
    const user = await createUser("gone", { kind: "client" });
    await t.api().patch(userUrl(user.id)).send({ status: "deactivated" }).expect(200);
    const res = await t.api().post(resetUrl(user.id)).send({ mode: "reset_required", notify: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "deactivated", passwordRotation: "reset_required" });
    expect(await rotationMails(user.email)).toHaveLength(0);
    expect(await rotationAudits(user.id)).toHaveLength(1);
  });

  it.each([
    ["a missing mode", {}, "mode"],
    ["an unknown mode", { mode: "expire" }, "mode"],
    ["a non-boolean revokeSessions", { mode: "reset_required", revokeSessions: "yes" }, "revokeSessions"],
    ["an unknown field", { mode: "reset_required", force: true }, "body"],
  ])("refuses %s with 400 and changes nothing", async (_label, body, path) => {
    const user = await createUser(`bad-${(invalid += 1)}`);
    const res = await t.api().post(resetUrl(user.id)).send(body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await t.api().get(userUrl(user.id))).body.passwordRotation).toBeNull();
  });

  it("answers 404 for an unknown user, a user of another tenant, and a tenant a bound key may not see", async () => {
    const other = uniqueSlug("rot-user");
    await t.api().post("/api/v1/tenants").send({ slug: other, name: "Other", region: "us" }).expect(201);
    const stranger = await t.api().post(`/api/v1/tenants/${other}/users`).send({ email: `s-${other}@rotate.example`, name: "S", kind: "contractor", password }).expect(201);

    expect((await t.api().post(resetUrl("0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7f")).send({ mode: "reset_required" })).status).toBe(404);
    expect((await t.api().post(resetUrl("not-a-uuid")).send({ mode: "reset_required" })).status).toBe(404);
    expect((await t.api().post(resetUrl(stranger.body.id)).send({ mode: "reset_required" })).status).toBe(404);

    const bound = await t.api().post("/api/v1/api-keys").send({ name: "bound", scopes: ["users:write"], tenant: slug }).expect(201);
    const asBound = await t.api().post(`/api/v1/tenants/${other}/users/${stranger.body.id}/password-reset`).set("Authorization", `Bearer ${bound.body.key}`).send({ mode: "reset_required" });
    expect(asBound.status).toBe(404);
    expect((await t.api().get(`/api/v1/tenants/${other}/users/${stranger.body.id}`)).body.passwordRotation).toBeNull();
  });

  it("needs users:write (403) and an API key (401)", async () => {
    const user = await createUser("scope");
    const reader = await t.api().post("/api/v1/api-keys").send({ name: "reader", scopes: ["users:read", "rotations:write"] }).expect(201);
    const denied = await t.api().post(resetUrl(user.id)).set("Authorization", `Bearer ${reader.body.key}`).send({ mode: "reset_required" });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe("insufficient_scope");
    const anonymous = await t.api().post(resetUrl(user.id)).set("Authorization", "").send({ mode: "reset_required" });
    expect(anonymous.status).toBe(401);
    expect((await t.api().get(userUrl(user.id))).body.passwordRotation).toBeNull();
  });
});
