// A rotation worker dies mid-campaign, and several instances then resume it at once: no user may be skipped, flagged twice or mailed twice.
import type { Db, DbTx } from "../../src/platform/db/prisma";
import type { TestApp } from "../support/harness";
import { uniqueSlug } from "../support/harness";
import { campaignMails, expectedCounts, rotationWorkerFor, seedUsers, startPrivateApp, startSession, type SeededUser } from "../integration/rotation/fixtures";

jest.setTimeout(120_000);

let t: TestApp;
let db: Db;
let closeApp: () => Promise<void>;
let slugs: string[];
const users: SeededUser[] = [];

beforeAll(async () => {
  ({ t, close: closeApp } = await startPrivateApp("rotation_crash"));
  db = t.container.infra.db;
  const open = await t.api().post("/api/v1/tenants").send({ slug: uniqueSlug("crash"), name: "Crash Co", region: "us" }).expect(201);
  const sso = await t.api().post("/api/v1/tenants").send({ slug: uniqueSlug("crash-sso"), name: "Crash SSO", region: "us" }).expect(201);
  await db.tenant.update({ where: { id: sso.body.id }, data: { ssoEnabled: true, ssoEnforced: true } });
  slugs = [open.body.slug, sso.body.slug];
  const groups = await Promise.all([
    seedUsers(db, open.body, "contractor", 1_100, { kind: "contractor", expected: "flagged" }),
    seedUsers(db, open.body, "gone", 50, { kind: "client", status: "deactivated", expected: "skipped_deactivated" }),
    seedUsers(db, sso.body, "member", 50, { kind: "member", expected: "skipped_sso_only" }),
  ]);
  users.push(...groups.flat());
});

afterAll(async () => {
  await closeApp();
});

afterEach(async () => {
  await db.rotationCampaign.updateMany({ where: { status: "running" }, data: { status: "cancelled" } });
  await db.user.updateMany({ data: { passwordRotation: null } });
});

type TxFn = (tx: DbTx) => Promise<unknown>;
const realTransaction = (fn: TxFn, options?: unknown) => db.$transaction(fn, options as { timeout?: number });

/** The app's database, except that each `$transaction` of the worker goes through `around` (to fail or stall on purpose). */
function dbWith(around: (fn: TxFn, options: unknown, call: number) => Promise<unknown>): Db {
  let calls = 0;
  const $transaction = (fn: TxFn, options?: unknown) => around(fn, options, (calls += 1));
  return new Proxy(db, { get: (target, prop) => (prop === "$transaction" ? $transaction : Reflect.get(target, prop, target)) });
}

async function startCampaign(): Promise<string> {
  const res = await t.api().post("/api/v1/password-rotations").send({ tenants: slugs, mode: "reset_required", revokeSessions: true, notify: true, reason: "credential stuffing" });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const progressRows = (id: string) => db.rotationCampaignUser.findMany({ where: { campaignId: id } });

/** Every user processed exactly once, every flagged user flagged, audited and mailed exactly once; counts exact. */
async function expectComplete(id: string): Promise<void> {
  const counts = expectedCounts(users);
  const view = (await t.api().get(`/api/v1/password-rotations/${id}`).expect(200)).body;
  expect(view).toMatchObject({ status: "completed", ...counts, targeted: 1_200, flagged: 1_100, notified: 1_100 });
  expect(view.targeted).toBe(view.flagged + view.skippedDeactivated + view.skippedSsoOnly);

  const rows = await progressRows(id);
  expect(rows).toHaveLength(users.length);
  const outcomeOf = new Map(rows.map((r) => [r.userId, r.outcome]));
  const missing = users.filter((u) => outcomeOf.get(u.id) !== u.expected);
  expect(missing.map((u) => `${u.email}: ${outcomeOf.get(u.id) ?? "never processed"}`)).toEqual([]);

  const flagged = users.filter((u) => u.expected === "flagged");
  const mails = await campaignMails(db, id);
  expect(mails).toHaveLength(flagged.length);
  expect(mails.map((m) => m.dedupeKey).sort()).toEqual(flagged.map((u) => `rotation:${id}:${u.id}`).sort());
  const perAddress = new Map<string, number>();
  for (const mail of mails) perAddress.set(mail.to, (perAddress.get(mail.to) ?? 0) + 1);
  expect([...perAddress.values()].every((n) => n === 1)).toBe(true);

  const audits = await db.auditEvent.findMany({ where: { type: "password.rotation_required", data: { path: ["campaignId"], equals: id } }, select: { targetId: true } });
  expect(audits).toHaveLength(flagged.length);
  expect(new Set(audits.map((a) => a.targetId)).size).toBe(flagged.length);
  expect(await db.auditEvent.count({ where: { type: "rotation.completed", targetId: id } })).toBe(2);

  const rotation = await db.user.groupBy({ by: ["passwordRotation"], where: { id: { in: users.map((u) => u.id) } }, _count: { _all: true } });
  expect(Object.fromEntries(rotation.map((g) => [String(g.passwordRotation), g._count._all]))).toEqual({ reset_required: 1_100, null: 100 });
}

describe("rotation worker crash and resume", () => {
  it("resumes after a crash, with two instances at once, and processes every user exactly once", async () => {
    const flagged = users.filter((u) => u.expected === "flagged");
    const watched = flagged.filter((_, i) => i % 25 === 0);
    const skipped = users.filter((u) => u.expected !== "flagged").slice(0, 5);
    const sessions = new Map(await Promise.all([...watched, ...skipped].map(async (u) => [u.id, (await startSession(t, u)).token] as const)));
    const id = await startCampaign();

    // Batches 1 and 2 commit; batch 3 commits but the process dies before it ends the sessions; batch 4 never commits.
    const crashing = rotationWorkerFor(t, {
      batchSize: 100,
      db: dbWith(async (fn, options, call) => {
        if (call === 4) throw new Error("process killed");
        const result = await realTransaction(fn, options);
        if (call === 3) throw new Error("process killed after commit");
        return result;
      }),
    });
    await expect(crashing.runOnce()).rejects.toThrow("process killed after commit");

    const partial = await progressRows(id);
    expect(partial).toHaveLength(300);
    expect((await t.api().get(`/api/v1/password-rotations/${id}`).expect(200)).body).toMatchObject({ status: "running", targeted: 1_200 });
    const unrevoked = partial.filter((r) => r.outcome === "flagged" && r.sessionsRevokedAt === null);
    const leftAlive = watched.filter((u) => unrevoked.some((r) => r.userId === u.id));
    expect(leftAlive.length).toBeGreaterThan(0);
    for (const user of leftAlive) expect(await t.container.sessions.validate(sessions.get(user.id)!)).not.toBeNull();
    expect(await campaignMails(db, id)).toHaveLength(partial.filter((r) => r.outcome === "flagged").length);

    // Two fresh instances resume it side by side.
    await Promise.all([rotationWorkerFor(t, { batchSize: 100 }).runOnce(), rotationWorkerFor(t, { batchSize: 100 }).runOnce()]);
    await expectComplete(id);

    // The sessions of batch 3, left alive by the crash, were ended by the resumed run.
    for (const user of watched) expect([user.email, await t.container.sessions.validate(sessions.get(user.id)!)]).toEqual([user.email, null]);
    for (const user of skipped) expect(await t.container.sessions.validate(sessions.get(user.id)!)).not.toBeNull();
    expect((await progressRows(id)).filter((r) => r.outcome === "flagged" && r.sessionsRevokedAt === null)).toHaveLength(0);
  });

  it("does not finish a campaign while another instance still holds an uncommitted batch", async () => {
    const id = await startCampaign();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // Instance A claims its first batch, then stalls before committing (a slow network, a GC pause).
    const slow = rotationWorkerFor(t, {
      batchSize: 100,
      db: dbWith((fn, options, call) =>
        call !== 1 ? realTransaction(fn, options) : realTransaction(async (tx) => {
          const result = await fn(tx);
          holding();
          await gate;
          return result;
        }, options)),
    }).runOnce();
    await held;
    // Instance B starts now: its claim of the same users waits for A's commit.
    const fast = rotationWorkerFor(t, { batchSize: 100 }).runOnce();
    await waitForLockWait();
    release();
    await Promise.all([slow, fast]);
    await expectComplete(id);
  });
});

async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const [row] = await db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (Number(row?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the second instance never waited on the first one's batch");
}
