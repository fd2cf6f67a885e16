// A user's phone is lost or stolen: the admin reset must kill the old factor, its recovery codes and
// every session opened with it, tell the user, and leave the account ready to enrol again.
import { createAuditStore } from "../../../src/audit/audit.store";
import { createMfaAdminService } from "../../../src/mfa/mfa-admin.service";
import { createRecoveryCodeStore } from "../../../src/mfa/recovery-code.store";
import { createOutboxStore } from "../../../src/platform/mail/outbox.store";
import { createUserStore } from "../../../src/users/user.store";
import { oathtoolCode, TestBrowser, textOf } from "../../support/browser";
import { queuedMails } from "../../support/outbox";
import { checkedAgent, ManualClock, startTestApp, uniqueSlug, type TestApp } from "../../support/harness";

let t: TestApp;
let clock: ManualClock;
let slug: string;
const password = "correct horse battery staple";

beforeAll(async () => {
  clock = new ManualClock(new Date("2026-11-27T10:00:00Z"));
  t = await startTestApp({}, clock);
  slug = uniqueSlug("mfa-reset");
  await t.api().post("/api/v1/tenants").send({ slug, name: "Reset Co", region: "us" }).expect(201);
});
afterAll(async () => {
  await t.close();
});

const db = () => t.container.infra.db;
const usersUrl = (tenant = slug) => `/api/v1/tenants/${tenant}/users`;
const resetUrl = (id: string, tenant = slug) => `${usersUrl(tenant)}/${id}/mfa/reset`;

async function createUser(email: string, tenant = slug): Promise<string> {
  const res = await t.api().post(usersUrl(tenant)).send({ email, name: "User", kind: "contractor", password });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** The real flow: password, TOTP enrolment (which issues recovery codes), session. */
async function enrolThroughLogin(email: string): Promise<{ browser: TestBrowser; secret: string }> {
  const browser = new TestBrowser(t.app);
  await browser.get(`/us/login?tenant=${slug}`);
  expect((await browser.post("/us/login", { tenant: slug, email, password })).headers.location).toBe("/us/mfa/setup");
  const secret = textOf((await browser.get("/us/mfa/setup")).text, "totp-secret");
  expect((await browser.post("/us/mfa/setup", { code: oathtoolCode(secret, clock.now()) })).status).toBe(303);
  clock.advance(30_000);
  return { browser, secret };
}

const mailsTo = (email: string) => queuedMails(db(), { to: email, kind: "mfa_reset" });

describe("POST /api/v1/tenants/{slug}/users/{id}/mfa/reset", () => {
  it("removes TOTP and recovery codes, ends every session, mails the user and audits; the next login enrols again", async () => {
    const email = "lost-phone@reset.example";
    const id = await createUser(email);
    const { browser, secret } = await enrolThroughLogin(email);
    // An attacker with the password and the stolen phone is half-way through a login.
    const attacker = new TestBrowser(t.app);
    await attacker.get(`/us/login?tenant=${slug}`);
    expect((await attacker.post("/us/login", { tenant: slug, email, password })).headers.location).toBe("/us/login/mfa");
    expect(await db().recoveryCode.count({ where: { userId: id } })).toBe(10);
    expect(await t.container.sessions.listUserSessions(id)).toHaveLength(1);
    // Support staff see what the user still holds before they reset it.
    const before = await t.api().get(`/api/v1/tenants/${slug}/users/${id}`);
    expect(before.body).toMatchObject({ mfaEnrolled: true, recoveryCodesLeft: 10 });

    const res = await t.api().post(resetUrl(id));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, email, mfaEnrolled: false, status: "active" });

    expect((await t.api().get(`/api/v1/tenants/${slug}/users/${id}`)).body).toMatchObject({ mfaEnrolled: false, recoveryCodesLeft: null });
    const row = await db().user.findUniqueOrThrow({ where: { id } });
    expect([row.totpSecret, row.totpEnrolledAt]).toEqual([null, null]);
    expect(await db().recoveryCode.count({ where: { userId: id } })).toBe(0);
    expect(await t.container.sessions.listUserSessions(id)).toEqual([]);
    expect((await browser.get("/account")).status).toBe(303);

    // The old factor opens nothing, even for a login that was already past the password.
    await attacker.get("/us/login/mfa");
    expect((await attacker.post("/us/login/mfa", { code: oathtoolCode(secret, clock.now()) })).status).toBe(401);

    const mails = await mailsTo(email);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain("Subject: Two-step verification reset for Reset Co");

    const audit = await t.api().get(`/api/v1/tenants/${slug}/audit-events`).query({ type: "mfa.reset,session.revoked" });
    const events = audit.body.items.filter((e: { target: { id: string } | null }) => e.target?.id === id);
    expect(events.map((e: { type: string }) => e.type)).toEqual(["session.revoked", "mfa.reset"]);
    expect(events[1]).toMatchObject({ actor: { type: "api_key" }, data: { by: "admin", hadTotp: true, recoveryCodesRemoved: 10 } });
    expect(events[0].data).toMatchObject({ by: "admin", reason: "mfa_reset", count: 1 });

    const again = new TestBrowser(t.app);
    await again.get(`/us/login?tenant=${slug}`);
    expect((await again.post("/us/login", { tenant: slug, email, password })).headers.location).toBe("/us/mfa/setup");
  });

  it("resets a deactivated user without mailing them", async () => {
    const email = "cancelled@reset.example";
    const id = await createUser(email);
    await db().user.update({ where: { id }, data: { totpSecret: "sealed-secret", totpEnrolledAt: new Date() } });
    await db().recoveryCode.createMany({ data: [{ userId: id, codeHash: "h1" }, { userId: id, codeHash: "h2" }] });
    await t.api().patch(`${usersUrl()}/${id}`).send({ status: "deactivated" }).expect(200);

    const res = await t.api().post(resetUrl(id));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mfaEnrolled: false, status: "deactivated" });
    expect(await db().recoveryCode.count({ where: { userId: id } })).toBe(0);
    expect(await mailsTo(email)).toEqual([]);
  });

  it("answers 404 for an unknown user, 403 without users:write, and changes nothing", async () => {
    const id = await createUser("keep@reset.example");
    await db().user.update({ where: { id }, data: { totpSecret: "sealed-secret", totpEnrolledAt: new Date() } });
    expect((await t.api().post(resetUrl("0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7f"))).status).toBe(404);
    expect((await t.api().post(resetUrl("not-a-uuid"))).status).toBe(404);

    const key = await t.api().post("/api/v1/api-keys").send({ name: "reader", scopes: ["users:read"] }).expect(201);
    const denied = await checkedAgent(t.app, key.body.key).post(resetUrl(id));
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe("insufficient_scope");
    expect((await db().user.findUniqueOrThrow({ where: { id } })).totpSecret).toBe("sealed-secret");
  });

  it("gives a key bound to another tenant 404, and the victim keeps their factor", async () => {
    const other = uniqueSlug("mfa-other");
    await t.api().post("/api/v1/tenants").send({ slug: other, name: "Other", region: "us" }).expect(201);
    const key = await t.api().post("/api/v1/api-keys").send({ name: "other-support", scopes: ["users:write"], tenant: other }).expect(201);
    const victim = await createUser("victim@reset.example");
    await db().user.update({ where: { id: victim }, data: { totpSecret: "sealed-secret", totpEnrolledAt: new Date() } });

    for (const url of [resetUrl(victim), resetUrl(victim, other)]) {
      const res = await checkedAgent(t.app, key.body.key).post(url);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("not_found");
    }
    expect((await db().user.findUniqueOrThrow({ where: { id: victim } })).totpSecret).toBe("sealed-secret");
  });

  it("rolls the reset back when its notice cannot be queued: factor and notice commit together", async () => {
    const id = await createUser("mail-down@reset.example");
    await db().user.update({ where: { id }, data: { totpSecret: "sealed-secret", totpEnrolledAt: new Date() } });
    const service = createMfaAdminService({
      db: db(), clock, userStore: createUserStore(), recoveryCodeStore: createRecoveryCodeStore(), auditStore: createAuditStore(),
      sessions: t.container.sessions,
      outbox: { ...createOutboxStore(), enqueue: async () => { throw new Error("outbox write failed"); } },
    });
    const tenant = await db().tenant.findUniqueOrThrow({ where: { slug } });

    await expect(service.resetMfa(tenant, id, { actor: { type: "system" } })).rejects.toThrow("outbox write failed");
    expect((await db().user.findUniqueOrThrow({ where: { id } })).totpSecret).toBe("sealed-secret");
  });
});
