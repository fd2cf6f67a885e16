import { createHash, randomBytes } from "node:crypto";
import { Client } from "pg";
import { migrateDatabase, readMigrations, type MigrationFile } from "../../../src/platform/db/migrate";
import { adminDatabaseUrl, databaseUrlFor } from "../../support/test-env";

type MigrationRow = { migration_name: string; checksum: string; finished_at: Date | null };

// Each case gets its own throwaway database: the runner's behaviour depends on what is already recorded.
describe("migrateDatabase", () => {
  const created: string[] = [];
  const migrations = readMigrations();
  const names = migrations.map((m) => m.name);

  afterAll(async () => {
    await withClient(adminDatabaseUrl(), async (admin) => {
      for (const database of created) await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    });
  });

  async function freshDatabase(): Promise<string> {
    const database = `gatehouse_migrate_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
    await withClient(adminDatabaseUrl(), (admin) => admin.query(`CREATE DATABASE "${database}"`));
    created.push(database);
    return databaseUrlFor(database);
  }

  it("applies each migration exactly once when two runners start together", async () => {
    const url = await freshDatabase();
    const reports = await Promise.all([migrateDatabase(url, migrations), migrateDatabase(url, migrations)]);

    const winner = reports.find((r) => r.applied.length > 0);
    const loser = reports.find((r) => r !== winner);
    expect(winner).toEqual({ applied: names, alreadyApplied: 0 });
    expect(loser).toEqual({ applied: [], alreadyApplied: names.length });

    const rows = await recordedMigrations(url);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
    }
    expect(await migrateDatabase(url, migrations)).toEqual({ applied: [], alreadyApplied: names.length });
  });

  it("refuses a migration whose SQL changed after it was applied", async () => {
    const url = await freshDatabase();
    await migrateDatabase(url, migrations);
    const edited = migrations.map((m, i) => (i === 0 ? withSql(m, `${m.sql}\n-- edited afterwards\n`) : m));

    await expect(migrateDatabase(url, edited)).rejects.toThrow(`migration ${names[0]} was changed after it was applied`);
  });

  it("leaves nothing behind when a migration fails halfway", async () => {
    const url = await freshDatabase();
    const brokenSql = `CREATE TABLE "half_applied" ("id" INTEGER);\nSELECT 1 / 0;\n`;
    const broken: MigrationFile = { name: "29991231000000_broken", sql: brokenSql, checksum: sha256(brokenSql) };

    await expect(migrateDatabase(url, [...migrations, broken])).rejects.toThrow(
      /migration 29991231000000_broken failed: division by zero/,
    );

    expect(await tableExists(url, "half_applied")).toBe(false);
    const rows = await recordedMigrations(url);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
    // The earlier migrations stay applied; fixing the broken one lets the next run carry on.
    expect(await migrateDatabase(url, migrations)).toEqual({ applied: [], alreadyApplied: names.length });
  });
});

function withSql(migration: MigrationFile, sql: string): MigrationFile {
  return { ...migration, sql, checksum: sha256(sql) };
}

// Same checksum rule as the runner (and Prisma): SHA-256 of the file's text.
function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function recordedMigrations(url: string): Promise<MigrationRow[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<MigrationRow>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    return rows;
  });
}

async function tableExists(url: string, table: string): Promise<boolean> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [table]);
    return rows[0]?.exists ?? false;
  });
}

async function withClient<T>(connectionString: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
