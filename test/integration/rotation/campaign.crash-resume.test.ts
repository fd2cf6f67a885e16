// A rotation worker dies between batches or inside one: the next worker must resume at the cursor without skipping a user or doing one twice.
import type { Db, DbTx } from "../../../src/platform/db/prisma";
import { uniqueSlug, type TestApp } from "../../support/harness";
import { campaignMails, expectedCounts, rotationWorkerFor, seedUsers, startPrivateApp, type SeededUser } from "./fixtures";

jest.setTimeout(60_000);

const BATCH = 100;
let t: TestApp;
let db: Db;
let closeApp: () => Promise<void>;
let slugs: string[];
// In user-id order, the order in which batches walk them.
let users: SeededUser[];

beforeAll(async () => {
  ({ t, close: closeApp } = await startPrivateApp("rotation_resume"));
  db = t.container.infra.db;
  const open = (await t.api().post("/api/v1/tenants").send({ slug: uniqueSlug("resume"), name: "Resume Co", region: "us" }).expect(201)).body;
  const sso = (await t.api().post("/api/v1/tenants").send({ slug: uniqueSlug("resume-sso"), name: "Resume SSO", region: "us" }).expect(201)).body;
  await db.tenant.update({ where: { id: sso.id }, data: { ssoEnabled: true, ssoEnforced: true } });
  slugs = [open.slug, sso.slug];
  const groups = await Promise.all([
    seedUsers(db, open, "contractor", 230, { kind: "contractor", expected: "flagged" }),
    seedUsers(db, open, "gone", 20, { kind: "client", status: "deactivated", expected: "skipped_deactivated" }),
    seedUsers(db, sso, "member", 30, { kind: "member", expected: "skipped_sso_only" }),
  ]);
  users = groups.flat().sort((a, b) => (a.id < b.id ? -1 : 1));
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

/** The app's database, except that the worker's n-th `$transaction` goes through `nth` (to fail on purpose). */
function dbFailingAt(n: number, nth: (fn: TxFn, options: unknown) => Promise<unknown>): Db {
  let calls = 0;
  const $transaction = (fn: TxFn, options?: unknown) => ((calls += 1) === n ? nth(fn, options) : realTransaction(fn, options));
  return new Proxy(db, { get: (target, prop) => (prop === "$transaction" ? $transaction : Reflect.get(target, prop, target)) });
}

async function startCampaign(): Promise<string> {
  const res = await t.api().post("/api/v1/password-rotations").send({ tenants: slugs, mode: "reset_required", revokeSessions: true, notify: true, reason: "leaked hashes" });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const progressRows = (id: string) => db.rotationCampaignUser.findMany({ where: { campaignId: id }, orderBy: { userId: "asc" } });
const cursorOf = async (id: string) => (await db.rotationCampaign.findUniqueOrThrow({ where: { id } })).lastUserId;

/** Exactly the first `count` users (in id order) are processed, each once, and the cursor sits on the last of them. */
async function expectProcessedPrefix(id: string, count: number): Promise<void> {
  const rows = await progressRows(id);
  expect(rows.map((r) => r.userId)).toEqual(users.slice(0, count).map((u) => u.id));
  expect(await cursorOf(id)).toBe(users[count - 1]?.id);
  const flagged = users.slice(0, count).filter((u) => u.expected === "flagged");
  expect(await db.user.count({ where: { passwordRotation: "reset_required" } })).toBe(flagged.length);
  expect(await campaignMails(db, id)).toHaveLength(flagged.length);
}

/** Every user processed once with the right outcome; flagged ones flagged, mailed and audited once; the counts add up. */
async function expectComplete(id: string, untouched: SeededUser[] = []): Promise<void> {
  const view = (await t.api().get(`/api/v1/password-rotations/${id}`).expect(200)).body;
  const counts = expectedCounts(users);
  expect(view).toMatchObject({ status: "completed", ...counts });
  expect(view.targeted).toBe(view.flagged + view.skippedDeactivated + view.skippedSsoOnly);

  const rows = await progressRows(id);
  expect(rows.map((r) => [r.userId, r.outcome])).toEqual(users.map((u) => [u.id, u.expected]));

  const done = new Set(untouched.map((u) => u.id));
  const flagged = users.filter((u) => u.expected === "flagged" && !done.has(u.id));
  const mails = await campaignMails(db, id);
  expect(mails.map((m) => m.dedupeKey).sort()).toEqual(flagged.map((u) => `rotation:${id}:${u.id}`).sort());
  const audits = await db.auditEvent.findMany({ where: { type: "password.rotation_required", data: { path: ["campaignId"], equals: id } } });
  expect(audits.map((a) => a.targetId).sort()).toEqual(flagged.map((u) => u.id).sort());
  expect(await db.user.count({ where: { passwordRotation: "reset_required" } })).toBe(flagged.length);
}

describe("rotation campaign: resume at the cursor", () => {
  it("after a crash between batches, the next worker starts right after the last committed batch", async () => {
    const id = await startCampaign();
    const crashing = rotationWorkerFor(t, { batchSize: BATCH, db: dbFailingAt(2, () => Promise.reject(new Error("process killed"))) });
    await expect(crashing.runOnce()).rejects.toThrow("process killed");
    await expectProcessedPrefix(id, BATCH);

    await rotationWorkerFor(t, { batchSize: BATCH }).runOnce();
    await expectComplete(id);
  });

  it("a batch that dies before its commit leaves nothing behind, not even its cursor move, and is done whole later", async () => {
    const id = await startCampaign();
    const dyingInside = dbFailingAt(3, (fn, options) => realTransaction(async (tx) => {
      await fn(tx);
      throw new Error("killed before commit");
    }, options));
    await expect(rotationWorkerFor(t, { batchSize: BATCH, db: dyingInside }).runOnce()).rejects.toThrow("killed before commit");
    await expectProcessedPrefix(id, 2 * BATCH);

    await rotationWorkerFor(t, { batchSize: BATCH }).runOnce();
    await expectComplete(id);
  });

  it("passes over users that already have a progress row (recorded before the cursor existed) instead of redoing them", async () => {
    const id = await startCampaign();
    const already = users.slice(0, 40);
    await db.rotationCampaignUser.createMany({ data: already.map((u) => ({ campaignId: id, userId: u.id, tenantId: u.tenantId, outcome: u.expected })) });

    await rotationWorkerFor(t, { batchSize: 30 }).runOnce();
    await expectComplete(id, already);
    const flaggedBefore = already.filter((u) => u.expected === "flagged").map((u) => u.id);
    expect(await db.user.count({ where: { id: { in: flaggedBefore }, passwordRotation: { not: null } } })).toBe(0);
  });
});
