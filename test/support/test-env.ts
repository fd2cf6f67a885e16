// Where the real services of this machine live; override with TEST_PG_URL / TEST_REDIS_URL.
export function adminDatabaseUrl(): string {
  return process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

export function databaseUrlFor(database: string): string {
  const url = new URL(adminDatabaseUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

export function redisUrl(): string {
  return process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
}

export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is set by test/support/global-setup.ts");
  return url;
}

export function testRedisPrefix(): string {
  return process.env.GATEHOUSE_TEST_REDIS_PREFIX ?? "gh-test:adhoc:";
}
