import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { migrateDatabase } from "../../src/platform/db/migrate";
import { adminDatabaseUrl, databaseUrlFor } from "./test-env";

// One fresh database and one Redis key prefix per test run: runs never see each other's rows or keys.
export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const database = `gatehouse_test_${runId}`;
  const admin = new Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  process.env.GATEHOUSE_TEST_DATABASE = database;
  process.env.DATABASE_URL = databaseUrlFor(database);
  process.env.GATEHOUSE_TEST_REDIS_PREFIX = `gh-test:${runId}:`;
  await migrateDatabase(process.env.DATABASE_URL);
}
