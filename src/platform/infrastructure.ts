import path from "node:path";
import type { Config, SecretKey } from "../config/load";
import type { Clock } from "./clock";
import { startEmbeddedPostgres } from "./db/embedded-postgres";
import { migrateDatabase } from "./db/migrate";
import { createPrismaClient, type Db } from "./db/prisma";
import type { KvStore } from "./kv/kv-store";
import { MemoryKvStore } from "./kv/memory-store";
import { createRedisConnection } from "./kv/redis-client";
import { RedisKvStore } from "./kv/redis-store";
import { createTrackedReads, type TrackedReads } from "./kv/tracked-reads";
import type { Logger } from "./logger";
import type { ThrottleBackend } from "./throttle/throttle";
import { createFileMailer, createSmtpMailer, type Mailer } from "./mail/mailer";

export type OpenedInfrastructure = {
  config: Config & { secretKeys: readonly SecretKey[] };
  logger: Logger;
  clock: Clock;
  db: Db;
  kv: KvStore;
  mailer: Mailer;
  /** Where throttling counters live: the same Redis, or process memory in embedded mode. */
  throttleBackend: ThrottleBackend;
  close(): Promise<void>;
};

/**
 * Connects to PostgreSQL, Redis and SMTP, or starts the embedded defaults for each one that is not
 * configured (development only: config refuses them in production), and applies pending migrations.
 */
export async function openInfrastructure(
  config: Config & { secretKeys: readonly SecretKey[] },
  logger: Logger,
  clock: Clock,
): Promise<OpenedInfrastructure> {
  const closers: Array<() => Promise<void>> = [];
  const embedded: string[] = [];
  try {
    let databaseUrl = config.databaseUrl;
    let poolMax = config.databasePoolMax;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, "pg") });
      closers.push(pg.stop);
      databaseUrl = pg.url;
      // pglite-socket serves one connection's transaction at a time.
      poolMax = 1;
      embedded.push(`PostgreSQL: PGlite under ${path.join(config.dataDir, "pg")}`);
    }
    const report = await migrateDatabase(databaseUrl);
    if (report.applied.length > 0) logger.info({ applied: report.applied }, "database migrations applied");

    const db = createPrismaClient(databaseUrl, { poolMax });
    closers.push(() => db.$disconnect());

    let kv: KvStore;
    let throttleBackend: ThrottleBackend = { kind: "memory" };
    if (config.redis) {
      const onError = rateLimitedWarning(logger, "redis connection error");
      // One node, a Cluster or a Sentinel-managed master: the KV store and the throttle share the client.
      const redis = createRedisConnection(config.redis, { onError, connectionName: "gatehouse" });
      kv = new RedisKvStore(redis, config.redisKeyPrefix, { ownsClient: true, trackedReads: trackedReadsFor(config, logger, onError) });
      throttleBackend = { kind: "redis", client: redis, keyPrefix: config.redisKeyPrefix };
    } else {
      kv = new MemoryKvStore({ prefix: config.redisKeyPrefix, now: () => clock.now().getTime() });
      embedded.push("key-value store: in-process memory");
    }
    closers.push(() => kv.close());

    let mailer: Mailer;
    if (config.smtpUrl) {
      mailer = createSmtpMailer(config.smtpUrl, config.mailFrom);
    } else {
      mailer = createFileMailer(path.join(config.dataDir, "mail"), config.mailFrom);
      embedded.push(`mail: .eml files under ${path.join(config.dataDir, "mail")}`);
    }
    closers.push(() => mailer.close());

    if (embedded.length > 0) {
      logger.warn({ embedded }, "running on embedded single-process defaults: one process on one machine, never production");
    }
    return { config, logger, clock, db, kv, mailer, throttleBackend, close: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

/** Copies of sessions for the session checks, on a single node only (see tracked-reads.ts for why). */
function trackedReadsFor(config: Config, logger: Logger, onError: (error: Error) => void): TrackedReads | undefined {
  if (config.redis?.mode !== "single" || config.sessionReadCacheEntries === 0) return undefined;
  return createTrackedReads({
    url: config.redis.url,
    keyPrefix: config.redisKeyPrefix,
    cache: { maxEntries: config.sessionReadCacheEntries, maxAgeMs: 10_000 },
    redis: { onError },
    logger,
  });
}

async function closeAll(closers: Array<() => Promise<void>>): Promise<void> {
  for (const close of closers.reverse()) {
    await close().catch(() => undefined);
  }
}

/** A dependency that is down reports on every reconnect attempt; one line every 10 s is enough. */
function rateLimitedWarning(logger: Logger, message: string): (error: Error) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    logger.warn({ err: { message: error.message } }, message);
  };
}
