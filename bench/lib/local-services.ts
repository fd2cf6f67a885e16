import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { Client } from "pg";

// The bench creates and drops databases and floods servers with requests: it only ever talks to this machine.
const LOCAL_HOST = "127.0.0.1";

export function assertLocal(url: string, what: string): void {
  const { hostname } = new URL(url);
  if (hostname !== LOCAL_HOST) throw new Error(`${what} must be on ${LOCAL_HOST}, not "${hostname}" (${url})`);
}

export function adminDatabaseUrl(): string {
  const url = process.env.BENCH_PG_URL ?? `postgres://postgres@${LOCAL_HOST}:5432/postgres`;
  assertLocal(url, "BENCH_PG_URL");
  return url;
}

export function benchRedisUrl(): string {
  const url = process.env.BENCH_REDIS_URL ?? `redis://${LOCAL_HOST}:6379`;
  assertLocal(url, "BENCH_REDIS_URL");
  return url;
}

export type ThrowawayDatabase = { name: string; url: string; drop(): Promise<void> };

/** A fresh database for one run, dropped at the end even if connections are still open. */
export async function createThrowawayDatabase(): Promise<ThrowawayDatabase> {
  const adminUrl = adminDatabaseUrl();
  const name = `gatehouse_bench_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdminClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdminClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export function uniqueRedisPrefix(): string {
  return `gh-bench:${Date.now().toString(36)}${randomBytes(3).toString("hex")}:`;
}

/** Deletes every key of this run, whatever wrote it (Gatehouse or the baseline). */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const stream = redis.scanStream({ match: `${prefix}*`, count: 500 });
    for await (const keys of stream as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    await redis.quit();
  }
}
