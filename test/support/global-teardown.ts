import { Redis } from "ioredis";
import { Client } from "pg";
import { adminDatabaseUrl, redisUrl } from "./test-env";

export default async function globalTeardown(): Promise<void> {
  const database = process.env.GATEHOUSE_TEST_DATABASE;
  if (database && !process.env.GATEHOUSE_KEEP_TEST_DB) {
    const admin = new Client({ connectionString: adminDatabaseUrl() });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
  const prefix = process.env.GATEHOUSE_TEST_REDIS_PREFIX;
  if (prefix) {
    const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const stream = redis.scanStream({ match: `${prefix}*`, count: 500 });
    for await (const keys of stream as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
    await redis.quit();
  }
}
