import { createRotationCampaignStore } from "../../../src/passwords/rotation-campaign.store";
import type { Db } from "../../../src/platform/db/prisma";
import { TestBrowser } from "../../support/browser";
import { uniqueSlug, type TestApp } from "../../support/harness";
import { campaignMails, expectedCounts, rotationWorkerFor, seedUsers, startPrivateApp, startSession, type Kind, type SeededUser } from "./fixtures";

let t: TestApp;
let db: Db;
let closeApp: () => Promise<void>;
const password = "correct horse battery staple";
const tenants = { a: { slug: "", id: "" }, sso: { slug: "", id: "" }, outside: { slug: "", id: "" } };
// Every user of this (private) database, with the outcome a campaign must give them.
const seeded: SeededUser[] = [];
let changer: SeededUser;

async function createTenant(key: keyof typeof tenants, name: string): Promise<void> {
  const slug = uniqueSlug(`rot-${key}`);
  const res = await t.api().post("/api/v1/tenants").send({ slug, name, region: "us", mfaRequired: false }).expect(201);
  tenants[key] = { slug, id: res.body.id };
}

beforeAll(async () => {
  ({ t, close: closeApp } = await startPrivateApp("rotation_campaign"));
  db = t.container.infra.db;
  await createTenant("a", "Alpha");
  await createTenant("sso", "Enforced");
  await createTenant("outside", "Outsider");
  // Set directly: enforcing SSO through the API needs an SSO connection, which is not what is tested here.
  await db.tenant.update({ where: { id: tenants.sso.id }, data: { ssoEnabled: true, ssoEnforced: true } });

  const { a, sso, outside } = tenants;
  const groups = await Promise.all([
    seedUsers(db, a, "contractor", 3, { kind: "contractor", expected: "flagged" }),
    seedUsers(db, a, "client", 2, { kind: "client", expected: "flagged" }),
    seedUsers(db, a, "member", 2, { kind: "member", expected: "flagged" }),
    seedUsers(db, a, "gone-contractor", 1, { kind: "contractor", status: "deactivated", expected: "skipped_deactivated" }),
    seedUsers(db, a, "gone-member", 1, { kind: "member", status: "deactivated", expected: "skipped_deactivated" }),
    seedUsers(db, a, "sso-member", 1, { kind: "member", password: false, expected: "skipped_sso_only" }),
    seedUsers(db, a, "nopw-client", 1, { kind: "client", password: false, expected: "skipped_sso_only" }),
    seedUsers(db, sso, "member", 2, { kind: "member", expected: "skipped_sso_only" }),
    seedUsers(db, sso, "bypass-member", 1, { kind: "member", ssoBypass: true, expected: "flagged" }),
    seedUsers(db, sso, "contractor", 1, { kind: "contractor", expected: "flagged" }),
    seedUsers(db, sso, "gone-member", 1, { kind: "member", status: "deactivated", expected: "skipped_deactivated" }),
    seedUsers(db, sso, "gone-client", 1, { kind: "client", status: "deactivated", password: false, expected: "skipped_deactivated" }),
    seedUsers(db, outside, "contractor", 2, { kind: "contractor", expected: "flagged" }),
  ]);
  seeded.push(...groups.flat());
  // One real account, to complete its rotation through the password-change page.
  const email = `changer@${a.slug}.example`;
  const res = await t.api().post(`/api/v1/tenants/${a.slug}/users`).send({ email, name: "Changer", kind: "contractor", password }).expect(201);
  changer = { id: res.body.id, email, tenantId: a.id, kind: "contractor", expected: "flagged" };
  seeded.push(changer);
});

afterAll(async () => {
  await closeApp();
});

beforeEach(async () => {
  await db.user.updateMany({ data: { passwordRotation: null } });
});

afterEach(async () => {
  // A campaign left running would be picked up by the next test's worker run.
  await db.rotationCampaign.updateMany({ where: { status: "running" }, data: { status: "cancelled" } });
});

const inTenants = (...keys: (keyof typeof tenants)[]) => seeded.filter((u) => keys.some((k) => tenants[k].id === u.tenantId));
const ofKinds = (users: SeededUser[], kinds: Kind[]) => users.filter((u) => kinds.includes(u.kind));
const campaignBody = (over: Record<string, unknown> = {}) => ({ tenants: [tenants.a.slug], mode: "reset_required", revokeSessions: true, notify: true, reason: "suspicious logins", ...over });

async function startCampaign(body: Record<string, unknown>): Promise<string> {
  const res = await t.api().post("/api/v1/password-rotations").send(body);
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ id: expect.any(String), status: "running" });
  return res.body.id as string;
}

const getCampaign = async (id: string) => (await t.api().get(`/api/v1/password-rotations/${id}`).expect(200)).body;

async function rotationOf(users: SeededUser[]): Promise<Map<string, string | null>> {
  const rows = await db.user.findMany({ where: { id: { in: users.map((u) => u.id) } }, select: { id: true, passwordRotation: true } });
  return new Map(rows.map((r) => [r.id, r.passwordRotation]));
}

/** The campaign is done, its counts are exact, the flag is on exactly the flagged users and the mail went to them alone. */
async function expectDone(id: string, targets: SeededUser[], mode: string, options: { notify: boolean }) {
  const counts = expectedCounts(targets);
  const view = await getCampaign(id);
  expect(view).toMatchObject({ id, status: "completed", mode, ...counts, notified: options.notify ? counts.flagged : 0, completed: 0, finishedAt: expect.any(String) });
  expect(view.targeted).toBe(view.flagged + view.skippedDeactivated + view.skippedSsoOnly);

  const rotation = await rotationOf(seeded);
  const flagged = new Set(targets.filter((u) => u.expected === "flagged").map((u) => u.id));
  for (const user of seeded) expect([user.email, rotation.get(user.id)]).toEqual([user.email, flagged.has(user.id) ? mode : null]);

  const mails = await campaignMails(db, id);
  if (!options.notify) return expect(mails).toHaveLength(0);
  expect(mails.map((m) => m.dedupeKey).sort()).toEqual([...flagged].map((userId) => `rotation:${id}:${userId}`).sort());
  const flaggedEmails = targets.filter((u) => flagged.has(u.id)).map((u) => u.email);
  expect(mails.map((m) => m.to).sort()).toEqual(flaggedEmails.sort());
  expect(mails.every((m) => m.kind === "password_rotation")).toBe(true);
}

describe("password-rotation campaigns", () => {
  it("over one tenant: flags, mails and signs out exactly the active local users; skips the rest; leaves other tenants alone", async () => {
    const targets = inTenants("a");
    const flaggedUser = targets.find((u) => u.expected === "flagged")!;
    const ssoOnlyUser = targets.find((u) => u.expected === "skipped_sso_only")!;
    const outsider = inTenants("outside")[0]!;
    const sessions = await Promise.all([flaggedUser, ssoOnlyUser, outsider].map((u) => startSession(t, u)));

    const id = await startCampaign(campaignBody());
    const before = await getCampaign(id);
    expect(before).toMatchObject({ status: "running", targeted: targets.length, flagged: 0, notified: 0, finishedAt: null, kinds: [], reason: "suspicious logins", revokeSessions: true, notify: true });

    await t.container.rotationWorker.runOnce();
    await expectDone(id, targets, "reset_required", { notify: true });

    expect(await t.container.sessions.validate(sessions[0]!.token)).toBeNull();
    expect(await t.container.sessions.validate(sessions[1]!.token)).not.toBeNull();
    expect(await t.container.sessions.validate(sessions[2]!.token)).not.toBeNull();

    const events = await db.auditEvent.findMany({ where: { OR: [{ targetId: id }, { data: { path: ["campaignId"], equals: id } }] } });
    const ofType = (type: string) => events.filter((e) => e.type === type);
    expect(ofType("rotation.started").map((e) => e.tenantId)).toEqual([tenants.a.id]);
    expect(ofType("rotation.completed").map((e) => e.tenantId)).toEqual([tenants.a.id]);
    expect(ofType("password.rotation_required").map((e) => e.targetId).sort()).toEqual(targets.filter((u) => u.expected === "flagged").map((u) => u.id).sort());

    // Running again changes nothing: nobody is mailed twice.
    await t.container.rotationWorker.runOnce();
    expect(await campaignMails(db, id)).toHaveLength(expectedCounts(targets).flagged);
    expect(await getCampaign(id)).toMatchObject(expectedCounts(targets));
  });

  it("with kinds [contractor, client] over two tenants, without mail; completed counts users who then change their password", async () => {
    const targets = ofKinds(inTenants("a", "sso"), ["contractor", "client"]);
    const member = inTenants("a").find((u) => u.kind === "member" && u.expected === "flagged")!;
    const memberSession = await startSession(t, member);
    const changerSession = await startSession(t, changer);

    const id = await startCampaign(campaignBody({ tenants: [tenants.a.slug, tenants.sso.slug.toUpperCase()], kinds: ["contractor", "client"], mode: "change_at_next_login", revokeSessions: false, notify: false }));
    await t.container.rotationWorker.runOnce();
    await expectDone(id, targets, "change_at_next_login", { notify: false });
    expect(await getCampaign(id)).toMatchObject({ kinds: ["contractor", "client"], revokeSessions: false, notify: false });
    expect(await t.container.sessions.validate(memberSession.token)).not.toBeNull();
    expect(await t.container.sessions.validate(changerSession.token)).not.toBeNull();

    const browser = new TestBrowser(t.app);
    await browser.get(`/us/login?tenant=${tenants.a.slug}`);
    expect((await browser.post("/us/login", { tenant: tenants.a.slug, email: changer.email, password })).headers.location).toBe("/us/mfa/setup");
    await browser.get("/us/mfa/setup");
    expect((await browser.post("/us/mfa/setup/skip", {})).headers.location).toBe("/us/password/change");
    await browser.get("/us/password/change");
    const changed = await browser.post("/us/password/change", { password, new_password: "a brand new long passphrase 42" });
    expect(changed.status).toBe(303);

    expect(await getCampaign(id)).toMatchObject({ status: "completed", completed: 1 });
    expect((await rotationOf([changer])).get(changer.id)).toBeNull();
  });

  it("with kinds [member] over the SSO-enforced tenant: only bypass members are flagged and mailed", async () => {
    const targets = ofKinds(inTenants("sso"), ["member"]);
    expect(expectedCounts(targets)).toEqual({ targeted: 4, flagged: 1, skippedDeactivated: 1, skippedSsoOnly: 2 });
    const id = await startCampaign(campaignBody({ tenants: [tenants.sso.slug], kinds: ["member"] }));
    await t.container.rotationWorker.runOnce();
    await expectDone(id, targets, "reset_required", { notify: true });
  });

  it("targets the users that exist when it starts, not those created later", async () => {
    const targets = inTenants("outside");
    const id = await startCampaign(campaignBody({ tenants: [tenants.outside.slug] }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const email = `late@${tenants.outside.slug}.example`;
    const late = await t.api().post(`/api/v1/tenants/${tenants.outside.slug}/users`).send({ email, name: "Late", kind: "contractor", password }).expect(201);
    await t.container.rotationWorker.runOnce();
    seeded.push({ id: late.body.id, email, tenantId: tenants.outside.id, kind: "contractor", expected: "flagged" });
    await expectDone(id, targets, "reset_required", { notify: true });
  });

  it("cancelled before the worker runs: nobody is flagged or mailed, and cancelling again changes nothing", async () => {
    const id = await startCampaign(campaignBody());
    const cancelled = await t.api().post(`/api/v1/password-rotations/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id, status: "cancelled", flagged: 0, finishedAt: expect.any(String) });

    await t.container.rotationWorker.runOnce();
    const view = await getCampaign(id);
    expect(view).toMatchObject({ status: "cancelled", flagged: 0, notified: 0, skippedDeactivated: 0, skippedSsoOnly: 0, finishedAt: cancelled.body.finishedAt });
    expect(await campaignMails(db, id)).toHaveLength(0);
    expect([...(await rotationOf(seeded)).values()].every((mode) => mode === null)).toBe(true);
    expect(await db.auditEvent.count({ where: { type: "rotation.completed", targetId: id } })).toBe(0);

    const again = await t.api().post(`/api/v1/password-rotations/${id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(view);
  });

  it("cancelled mid-way: the batch under way finishes, no further user is processed", async () => {
    const store = createRotationCampaignStore();
    let id = "";
    const campaigns = {
      ...store,
      async claimBatch(...args: Parameters<typeof store.claimBatch>) {
        const claimed = await store.claimBatch(...args);
        await t.api().post(`/api/v1/password-rotations/${id}/cancel`).expect(200);
        return claimed;
      },
    };
    id = await startCampaign(campaignBody());
    await rotationWorkerFor(t, { batchSize: 3, campaigns }).runOnce();

    const view = await getCampaign(id);
    expect(view).toMatchObject({ status: "cancelled" });
    expect(view.flagged + view.skippedDeactivated + view.skippedSsoOnly).toBe(3);
    const flaggedNow = [...(await rotationOf(seeded)).values()].filter((mode) => mode !== null);
    expect(flaggedNow).toHaveLength(view.flagged);
    expect(await campaignMails(db, id)).toHaveLength(view.flagged);
    expect(await db.auditEvent.count({ where: { type: "rotation.completed", targetId: id } })).toBe(0);
  });

  it('over "all" tenants: every user of the deployment, with exact counts', async () => {
    expect(await db.user.count()).toBe(seeded.length);
    const id = await startCampaign(campaignBody({ tenants: "all", mode: "change_at_next_login" }));
    await t.container.rotationWorker.runOnce();
    await expectDone(id, seeded, "change_at_next_login", { notify: true });
    const started = await db.auditEvent.findMany({ where: { type: "rotation.started", targetId: id } });
    expect(started.map((e) => e.tenantId)).toEqual([null]);
  });
});

describe("password-rotation campaigns: access", () => {
  let boundKey: string;
  beforeAll(async () => {
    boundKey = (await t.api().post("/api/v1/api-keys").send({ name: "alpha ops", scopes: ["rotations:write"], tenant: tenants.a.slug }).expect(201)).body.key;
  });
  const asBound = (req: ReturnType<ReturnType<TestApp["api"]>["get"]>) => req.set("Authorization", `Bearer ${boundKey}`);

  it("a tenant-bound key runs campaigns over its own tenant only", async () => {
    const own = await asBound(t.api().post("/api/v1/password-rotations")).send(campaignBody());
    expect(own.status).toBe(202);
    expect((await asBound(t.api().get(`/api/v1/password-rotations/${own.body.id}`))).status).toBe(200);

    for (const slugs of [[tenants.sso.slug], [tenants.a.slug, tenants.sso.slug], ["no-such-tenant"]]) {
      const res = await asBound(t.api().post("/api/v1/password-rotations")).send(campaignBody({ tenants: slugs }));
      expect([slugs, res.status, res.body.code]).toEqual([slugs, 404, "not_found"]);
    }
    const all = await asBound(t.api().post("/api/v1/password-rotations")).send(campaignBody({ tenants: "all" }));
    expect(all.status).toBe(403);
    expect(all.body.code).toBe("forbidden");
    expect(await db.rotationCampaign.count({ where: { status: "running" } })).toBe(1);
  });

  it("a tenant-bound key cannot see or cancel campaigns that reach beyond its tenant", async () => {
    const other = await startCampaign(campaignBody({ tenants: [tenants.sso.slug] }));
    const mixed = await startCampaign(campaignBody({ tenants: [tenants.a.slug, tenants.sso.slug] }));
    const everyone = await startCampaign(campaignBody({ tenants: "all" }));
    for (const id of [other, mixed, everyone]) {
      expect((await asBound(t.api().get(`/api/v1/password-rotations/${id}`))).status).toBe(404);
      expect((await asBound(t.api().post(`/api/v1/password-rotations/${id}/cancel`))).status).toBe(404);
      expect((await getCampaign(id)).status).toBe("running");
    }
  });

  it("needs rotations:write", async () => {
    const id = await startCampaign(campaignBody());
    const usersKey = (await t.api().post("/api/v1/api-keys").send({ name: "users", scopes: ["users:write", "tenants:write"] }).expect(201)).body.key;
    const as = (req: ReturnType<ReturnType<TestApp["api"]>["get"]>) => req.set("Authorization", `Bearer ${usersKey}`);
    for (const res of [
      await as(t.api().post("/api/v1/password-rotations")).send(campaignBody()),
      await as(t.api().get(`/api/v1/password-rotations/${id}`)),
      await as(t.api().post(`/api/v1/password-rotations/${id}/cancel`)),
    ]) {
      expect([res.status, res.body.code]).toEqual([403, "insufficient_scope"]);
    }
    expect((await t.api().get(`/api/v1/password-rotations/${id}`).set("Authorization", "Bearer nope")).status).toBe(401);
  });

  it.each([
    ["no reason", { reason: undefined }, "reason"],
    ["a blank reason", { reason: "   " }, "reason"],
    ["a reason over 500 characters", { reason: "x".repeat(501) }, "reason"],
    ["an empty tenant list", { tenants: [] }, "tenants"],
    ["tenants that are neither a list nor \"all\"", { tenants: "everyone" }, "tenants"],
    ["an unknown mode", { mode: "expire" }, "mode"],
    ["an empty kinds list", { kinds: [] }, "kinds"],
    ["an unknown kind", { kinds: ["admin"] }, "kinds.0"],
    ["no revokeSessions", { revokeSessions: undefined }, "revokeSessions"],
    ["a non-boolean notify", { notify: "yes" }, "notify"],
    ["an unknown field", { dryRun: true }, "body"],
  ])("refuses %s with 400 and starts nothing", async (_label, over, path) => {
    const before = await db.rotationCampaign.count();
    const res = await t.api().post("/api/v1/password-rotations").send(campaignBody(over));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await db.rotationCampaign.count()).toBe(before);
  });

  it("answers 404 for a campaign that does not exist", async () => {
    for (const id of ["0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7f", "not-a-uuid"]) {
      expect((await t.api().get(`/api/v1/password-rotations/${id}`)).status).toBe(404);
      expect((await t.api().post(`/api/v1/password-rotations/${id}/cancel`)).status).toBe(404);
    }
  });
});
