// The store of back-channel logouts owed to apps, on the machine's PostgreSQL and on the embedded one
// (PGlite): claims are exclusive and fenced, due rows come back, a stalled claim runs out.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createBackchannelLogoutStore, type LogoutNotice } from "../../../src/apps/backchannel-logout.store";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../../src/platform/db/embedded-postgres";
import { migrateDatabase } from "../../../src/platform/db/migrate";
import { createPrismaClient, type Db } from "../../../src/platform/db/prisma";
import { testDatabaseUrl } from "../../support/test-env";

jest.setTimeout(120_000);

type Backend = { db: Db; close(): Promise<void> };

const backends: [string, () => Promise<Backend>][] = [
  ["PostgreSQL", async () => {
    const db = createPrismaClient(testDatabaseUrl(), { poolMax: 2 });
    return { db, close: () => db.$disconnect() };
  }],
  ["embedded PostgreSQL (PGlite)", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "gatehouse-pglite-"));
    const embedded: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir });
    await migrateDatabase(embedded.url);
    const db = createPrismaClient(embedded.url, { poolMax: 1 });
    return {
      db,
      async close() {
        await db.$disconnect();
        await embedded.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }],
];

describe.each(backends)("back-channel logout store on %s", (_name, open) => {
  const store = createBackchannelLogoutStore();
  let backend: Backend;
  // Each test's rows belong to its own app, and its clock starts far from the others': the shared database
  // may hold other tests' rows.
  let clientId: string;
  let t0: number;
  const notice = (sid: string): LogoutNotice => ({ clientId, sub: randomUUID(), sid });
  const at = (ms: number) => new Date(t0 + ms);
  const claimMine = async (ms: number, lockMs = 60_000) => (await store.claimDue(backend.db, 1_000, { lockMs, now: at(ms) })).filter((r) => r.clientId === clientId);

  beforeAll(async () => {
    backend = await open();
  });
  afterAll(() => backend.close());
  beforeEach(() => {
    clientId = `client-${randomUUID()}`;
    t0 = Date.now();
  });

  it("records notices already claimed, so no other sender takes them during the first attempt", async () => {
    const added = await store.addClaimed(backend.db, [notice("a"), notice("b")], { lockMs: 60_000, now: at(0) });
    expect(added).toHaveLength(2);
    expect(added.map((r) => ({ sid: r.sid, attempts: r.attempts }))).toEqual([{ sid: "a", attempts: 1 }, { sid: "b", attempts: 1 }]);
    expect(await claimMine(30_000)).toEqual([]);
  });

  it("hands a retry out again when it is due, and not before", async () => {
    const [row] = await store.addClaimed(backend.db, [notice("a")], { lockMs: 60_000, now: at(0) });
    expect(await store.markRetry(backend.db, row!, "503", at(5_000))).toBe(true);
    expect(await claimMine(4_999)).toEqual([]);
    const [again] = await claimMine(5_000);
    expect(again).toMatchObject({ id: row!.id, attempts: 2, sid: "a" });
    expect(await claimMine(5_000)).toEqual([]);
  });

  it("fences marks: a claim that ran out and was taken again cannot mark the row", async () => {
    const [stale] = await store.addClaimed(backend.db, [notice("a")], { lockMs: 1_000, now: at(0) });
    const [fresh] = await claimMine(2_000);
    expect(fresh).toMatchObject({ id: stale!.id, attempts: 2 });
    expect(await store.markDelivered(backend.db, stale!)).toBe(false);
    expect(await store.markRetry(backend.db, stale!, "late", at(3_000))).toBe(false);
    expect(await store.markDelivered(backend.db, fresh!)).toBe(true);
    expect(await backend.db.backchannelLogout.count({ where: { clientId } })).toBe(0);
  });

  it("keeps a row given up as failed, and never hands it out again", async () => {
    const [row] = await store.addClaimed(backend.db, [notice("a")], { lockMs: 60_000, now: at(0) });
    expect(await store.markFailed(backend.db, row!, "gone")).toBe(true);
    expect(await claimMine(24 * 60 * 60_000)).toEqual([]);
    expect(await backend.db.backchannelLogout.findMany({ where: { clientId } })).toMatchObject([{ status: "failed", lastError: "gone" }]);
  });
});
