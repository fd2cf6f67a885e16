import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../../src/platform/db/embedded-postgres";
import { migrateDatabase, readMigrations } from "../../../src/platform/db/migrate";
import { createPrismaClient } from "../../../src/platform/db/prisma";

// A fresh PGlite data dir takes ~5 s to initialise, a reopen ~1 s.
jest.setTimeout(120_000);

describe("embedded PostgreSQL (PGlite over a local socket)", () => {
  let dataDir: string;
  let running: EmbeddedPostgres | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "gatehouse-pglite-"));
  });

  afterAll(async () => {
    await running?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<EmbeddedPostgres> {
    running = await startEmbeddedPostgres({ dataDir });
    return running;
  }

  async function stop(): Promise<void> {
    await running?.stop();
    running = undefined;
  }

  it("migrates, stores a tenant through Prisma, and keeps it after a restart", async () => {
    const first = await start();
    expect(first.url).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const report = await migrateDatabase(first.url);
    expect(report.applied).toEqual(readMigrations().map((m) => m.name));

    const prisma = createPrismaClient(first.url, { poolMax: 1 });
    const created = await prisma.tenant.create({ data: { slug: "acme", name: "Acme", region: "eu" } });
    const read = await prisma.tenant.findUnique({ where: { slug: "acme" } });
    expect(read).toMatchObject({ id: created.id, name: "Acme", region: "eu", mfaRequired: true, emailDomains: [] });
    await prisma.$disconnect();
    await stop();

    const second = await start();
    expect(await migrateDatabase(second.url)).toEqual({ applied: [], alreadyApplied: readMigrations().length });
    const reopened = createPrismaClient(second.url, { poolMax: 1 });
    try {
      expect(await reopened.tenant.findUnique({ where: { id: created.id } })).toMatchObject({ slug: "acme" });
    } finally {
      await reopened.$disconnect();
    }
  });
});
