import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { ManualClock } from "../../../src/platform/clock";
import { MemoryKvStore } from "../../../src/platform/kv/memory-store";
import { createRedisClient, RedisKvStore } from "../../../src/platform/kv/redis-store";
import { redisUrl, testRedisPrefix } from "../../support/test-env";
import { describeSessionStoreContract } from "./session-store.contract";

const START = new Date("2026-03-01T09:00:00Z");

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${globEscape(prefix)}*`, "COUNT", 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return found;
}

/** Every key under the prefix with its value, read straight from Redis as an attacker with a dump would. */
async function dumpRedis(redis: Redis, prefix: string): Promise<string> {
  const lines: string[] = [];
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key);
    const value = type === "set" ? (await redis.smembers(key)).join(",") : await redis.get(key);
    lines.push(`${key} ${value}`);
  }
  return lines.join("\n");
}

describe("on Redis", () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedisClient(redisUrl(), { onError: () => undefined });
  });
  afterAll(async () => {
    await redis.quit();
  });

  describeSessionStoreContract("redis", async () => {
    const prefix = `${testRedisPrefix()}sessions:${randomBytes(6).toString("hex")}:`;
    return {
      kv: new RedisKvStore(redis, prefix),
      clock: new ManualClock(START),
      dump: () => dumpRedis(redis, prefix),
      cleanup: async () => {
        const keys = await keysUnder(redis, prefix);
        for (const key of keys) await redis.del(key);
      },
    };
  });
});

describeSessionStoreContract("memory", async () => {
  const clock = new ManualClock(START);
  const kv = new MemoryKvStore({ prefix: "sessions:", now: () => clock.now().getTime() });
  // Record everything written: the memory store keeps its map private, and writes are all it can hold.
  const written: string[] = [];
  const recording = new Proxy(kv, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "set" || prop === "setAdd") written.push(JSON.stringify(args));
        return value.apply(target, args);
      };
    },
  });
  return { kv: recording, clock, dump: async () => written.join("\n"), cleanup: () => kv.close() };
});
