import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { sha256Hex } from "../../../src/platform/crypto";
import { createRedisClient } from "../../../src/platform/kv/redis-store";
import { createAuthThrottle, DEFAULT_THROTTLE_POLICY } from "../../../src/platform/throttle/throttle";
import { redisUrl, testRedisPrefix } from "../../support/test-env";
import { describeAuthThrottleContract, login } from "./auth-throttle.contract";

const quiet = (): void => undefined;

function randomPrefix(): string {
  return `${testRedisPrefix()}throttle:${randomBytes(6).toString("hex")}:`;
}

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  // The random hex prefix holds no glob characters.
  const stream = redis.scanStream({ match: `${prefix}*`, count: 500 });
  for await (const keys of stream as AsyncIterable<string[]>) found.push(...keys);
  return found;
}

async function deleteUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.unlink(...keys);
}

describe("AuthThrottle on Redis", () => {
  let redis: Redis;

  beforeAll(() => {
    redis = createRedisClient(redisUrl(), { onError: quiet });
  });

  afterAll(async () => {
    await redis.quit();
  });

  describeAuthThrottleContract("redis", async () => {
    const keyPrefix = randomPrefix();
    return {
      create: (policy) => createAuthThrottle({ backend: { kind: "redis", client: redis, keyPrefix }, policy }),
      cleanup: () => deleteUnder(redis, keyPrefix),
    };
  });

  it("two instances on the same Redis share their counts", async () => {
    const keyPrefix = randomPrefix();
    const backend = { kind: "redis", client: redis, keyPrefix } as const;
    const first = createAuthThrottle({ backend });
    const second = createAuthThrottle({ backend });
    const alice = login("tenant-1:alice@example.com", "203.0.113.7");
    for (let i = 0; i < 5; i++) {
      await first.recordFailure(alice);
      await second.recordFailure(alice);
    }
    expect(await first.check(alice)).toMatchObject({ allowed: false, reason: "account_ip" });
    expect(await second.check(alice)).toMatchObject({ allowed: false, reason: "account_ip" });
    await deleteUnder(redis, keyPrefix);
  });

  it("keeps the account only as a SHA-256 and gives every key an expiry", async () => {
    const keyPrefix = randomPrefix();
    const throttle = createAuthThrottle({ backend: { kind: "redis", client: redis, keyPrefix } });
    const alice = login("tenant-1:alice@example.com", "203.0.113.7");
    for (let i = 0; i < 11; i++) await throttle.recordFailure(alice);

    const keys = await keysUnder(redis, keyPrefix);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.some((key) => key.includes(sha256Hex(alice.account)))).toBe(true);
    expect(keys.filter((key) => key.includes("alice"))).toEqual([]);
    const ttls = await Promise.all(keys.map((key) => redis.pttl(key)));
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(DEFAULT_THROTTLE_POLICY.account_ip.windowSeconds * 1_000);
    }
    await deleteUnder(redis, keyPrefix);
  });

  it("rejects rather than allows when Redis cannot be reached", async () => {
    const client = createRedisClient("redis://127.0.0.1:1", { onError: quiet, maxReconnectDelayMs: 50 });
    const throttle = createAuthThrottle({ backend: { kind: "redis", client, keyPrefix: randomPrefix() } });
    const alice = login("tenant-1:alice@example.com", "203.0.113.7");
    try {
      await expect(throttle.check(alice)).rejects.toThrow();
      await expect(throttle.recordFailure(alice)).rejects.toThrow();
    } finally {
      client.disconnect();
    }
  });
});

describeAuthThrottleContract("memory", async () => ({
  create: (policy) => createAuthThrottle({ backend: { kind: "memory" }, policy }),
  cleanup: async () => undefined,
}));

describe("AuthThrottle policy", () => {
  it("refuses a policy that is not whole positive seconds and counts, naming the setting", () => {
    const bad = { ...DEFAULT_THROTTLE_POLICY, ip: { ...DEFAULT_THROTTLE_POLICY.ip, firstDelaySeconds: 0.5 } };
    expect(() => createAuthThrottle({ backend: { kind: "memory" }, policy: bad })).toThrow(/ip\.firstDelaySeconds/);
    const capBelowFirst = { ...DEFAULT_THROTTLE_POLICY, account: { ...DEFAULT_THROTTLE_POLICY.account, maxDelaySeconds: 0 } };
    expect(() => createAuthThrottle({ backend: { kind: "memory" }, policy: capBelowFirst })).toThrow(/account\.maxDelaySeconds/);
  });
});
