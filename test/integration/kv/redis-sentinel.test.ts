// Redis behind Sentinel: the client must ask the sentinels (with their password) for the master, and
// authenticate to the master with its own password. No failover is staged here.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { createRedisSentinelClient } from "../../../src/platform/kv/redis-client";
import { RedisKvStore } from "../../../src/platform/kv/redis-store";
import { startRedisSentinel, type LocalRedisSentinel } from "../../support/redis-cluster";
import { describeKvStoreContract } from "./kv-store.contract";

const quiet = (): void => undefined;
const PASSWORD = randomBytes(12).toString("hex");
const SENTINEL_PASSWORD = randomBytes(12).toString("hex");

let sentinel: LocalRedisSentinel;
let client: Redis;

function target(overrides: { password?: string } = {}) {
  return {
    mode: "sentinel" as const,
    sentinels: sentinel.sentinels,
    masterName: sentinel.masterName,
    password: PASSWORD,
    sentinelPassword: SENTINEL_PASSWORD,
    tls: false,
    ...overrides,
  };
}

beforeAll(async () => {
  sentinel = await startRedisSentinel({ masterName: "gh-master", password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
  client = createRedisSentinelClient(target(), { onError: quiet });
}, 30_000);

afterAll(async () => {
  client?.disconnect();
  await sentinel?.stop();
});

it("connects to the master that the sentinel names", async () => {
  const info = await client.info("server");
  expect(info).toContain(`tcp_port:${sentinel.master.port}`);
  expect(await client.role()).toEqual(expect.arrayContaining(["master"]));
});

it("fails closed with a wrong master password", async () => {
  const wrong = createRedisSentinelClient(target({ password: "wrong" }), { onError: quiet, maxReconnectDelayMs: 50 });
  const started = Date.now();
  try {
    await expect(new RedisKvStore(wrong, "gh-test:").get("anything")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_500);
  } finally {
    wrong.disconnect();
  }
});

describeKvStoreContract("redis sentinel", async () => {
  const prefix = `gh-test:sentinel:${randomBytes(6).toString("hex")}:`;
  return {
    store: new RedisKvStore(client, prefix),
    advanceTime: (ms) => sleep(ms),
    cleanup: async () => {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
    },
  };
});
