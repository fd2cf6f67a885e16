import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

type ServerModule = typeof import("../../src/server");
type ConfigModule = typeof import("../../src/config/load");
type LoggerModule = typeof import("../../src/platform/logger");
type MigrateModule = typeof import("../../src/platform/db/migrate");

const DIST = path.resolve(__dirname, "../../dist/src");

/** A module of the compiled build, as `npm start` runs it; `npm run bench` builds it first. */
export function loadBuild<T>(relative: string): T {
  const file = path.join(DIST, relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first (npm run bench does)`);
  return require(file) as T;
}

export async function migrateBenchDatabase(databaseUrl: string): Promise<void> {
  await loadBuild<MigrateModule>("platform/db/migrate.js").migrateDatabase(databaseUrl);
}

/** The settings of the Gatehouse under test that a baseline has to match. */
export type GatehouseSettings = {
  bcryptCost: number;
  poolMax: number;
  regionUrls: Readonly<Record<string, string>>;
  /** Worker threads for bcrypt and their nice value, and for SAML validation (production defaults). */
  bcryptThreads: number;
  bcryptThreadNice: number;
  samlValidationThreads: number;
};

export type BenchGatehouse = { url: string; adminToken: string; settings: GatehouseSettings; stop(): Promise<void> };

/**
 * Gatehouse in this process with production settings on the machine's PostgreSQL and Redis; BCRYPT_COST
 * and DATABASE_POOL_MAX keep their production defaults (baselines read them from `settings`).
 * Nothing leaves 127.0.0.1: the breach check (an outside API by default) is off, and nothing listens on
 * SMTP_URL. A scenario that needs either starts its own stand-in on 127.0.0.1.
 */
export async function startBenchGatehouse(options: { databaseUrl: string; redisUrl: string; redisPrefix: string }): Promise<BenchGatehouse> {
  const { loadConfig } = loadBuild<ConfigModule>("config/load.js");
  const { createLogger } = loadBuild<LoggerModule>("platform/logger.js");
  const { startGatehouse } = loadBuild<ServerModule>("server.js");

  const dataDir = mkdtempSync(path.join(tmpdir(), "gatehouse-bench-"));
  const adminToken = `bench-${randomBytes(24).toString("base64url")}`;
  const config = loadConfig({
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: "0",
    PUBLIC_URL: "https://gatehouse.bench.invalid",
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: options.redisPrefix,
    SMTP_URL: "smtp://127.0.0.1:2525",
    BREACH_CHECK_URL: "",
    SECRET_KEYS: `bench:${randomBytes(32).toString("base64")}`,
    BOOTSTRAP_ADMIN_TOKEN: adminToken,
    LOG_LEVEL: "silent",
    DATA_DIR: dataDir,
    SHUTDOWN_GRACE_MS: "1000",
  });
  const running = await startGatehouse(config, createLogger({ level: config.logLevel }));
  return {
    url: running.url,
    adminToken,
    settings: {
      bcryptCost: config.bcryptCost, poolMax: config.databasePoolMax, regionUrls: config.regionUrls,
      bcryptThreads: config.bcryptThreads, bcryptThreadNice: config.bcryptThreadNice, samlValidationThreads: config.samlValidationThreads,
    },
    async stop() {
      await running.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
