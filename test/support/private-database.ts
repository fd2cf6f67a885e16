import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { migrateDatabase } from "../../src/platform/db/migrate";
import { adminDatabaseUrl, databaseUrlFor } from "./test-env";

export async function adminQuery(sql: string): Promise<void> {
  const admin = new Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * A freshly migrated database for one test file. For tests whose workers act on every row of their
 * database (outbox senders, rotation workers): on the shared run database they would take other files' rows.
 */
export async function createPrivateDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gatehouse_${label}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = databaseUrlFor(name);
  await migrateDatabase(url);
  return { url, drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
