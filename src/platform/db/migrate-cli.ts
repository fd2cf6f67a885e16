import path from "node:path";
import { loadConfig } from "../../config/load";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { migrateDatabase } from "./migrate";

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
async function main(): Promise<void> {
  const config = loadConfig();
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, "pg") });
  try {
    const report = await migrateDatabase(config.databaseUrl ?? embedded!.url);
    process.stdout.write(`${report.applied.length} migration(s) applied${report.applied.length ? `: ${report.applied.join(", ")}` : ""}; ${report.alreadyApplied} already applied\n`);
  } finally {
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
