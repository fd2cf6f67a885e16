// Attack: fail logins for a victim's account from many IPs so that the victim is locked out for good.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { createRedisClient } from "../../src/platform/kv/redis-store";
import {
  createAuthThrottle,
  DEFAULT_THROTTLE_POLICY,
  type AuthThrottle,
  type ThrottlePolicy,
  type ThrottleSubject,
} from "../../src/platform/throttle/throttle";
import { redisUrl, testRedisPrefix } from "../support/test-env";

const victimAccount = "tenant-1:victim@example.com";
const victim: ThrottleSubject = { account: victimAccount, ip: "198.51.100.20", action: "login" };
const fromAttacker = (i: number): ThrottleSubject => ({ account: victimAccount, ip: `10.${i >> 8}.${i & 255}.1`, action: "login" });

// In waves: hundreds of scripts at once can outlast the client's 1 s command timeout on a slow CI machine,
// and what is tested is the policy, not Redis under a burst.
const WAVE = 50;

async function attack(throttle: AuthThrottle, from: number, count: number): Promise<void> {
  for (let start = 0; start < count; start += WAVE) {
    const size = Math.min(WAVE, count - start);
    await Promise.all(Array.from({ length: size }, (_, i) => throttle.recordFailure(fromAttacker(from + start + i))));
  }
}

let redis: Redis;
let keyPrefix: string;
const onRedis = (policy?: ThrottlePolicy): AuthThrottle =>
  createAuthThrottle({ backend: { kind: "redis", client: redis, keyPrefix }, policy });

beforeAll(() => {
  redis = createRedisClient(redisUrl(), { onError: () => undefined });
});

beforeEach(() => {
  keyPrefix = `${testRedisPrefix()}lockout:${randomBytes(6).toString("hex")}:`;
});

afterAll(async () => {
  const stream = redis.scanStream({ match: `${testRedisPrefix()}lockout:*`, count: 500 });
  for await (const keys of stream as AsyncIterable<string[]>) if (keys.length > 0) await redis.unlink(...keys);
  await redis.quit();
});

describe("login throttling never locks an account out for good", () => {
  it("with the default policy, 500 failures from 500 IPs delay the victim by at most 15 minutes", async () => {
    expect(DEFAULT_THROTTLE_POLICY.account.maxDelaySeconds).toBeLessThanOrEqual(15 * 60);
    const throttle = onRedis();
    await attack(throttle, 0, 500);
    const decision = await throttle.check(victim);
    expect(decision).toMatchObject({ allowed: false, reason: "account" });
    expect(decision.allowed === false && decision.retryAfterSeconds).toBeLessThanOrEqual(15 * 60);
  });

  it("the victim gets in after the delay, however long the attack goes on", async () => {
    const small = { freeFailures: 5, windowSeconds: 60, firstDelaySeconds: 1, maxDelaySeconds: 1 };
    const throttle = onRedis({ ...DEFAULT_THROTTLE_POLICY, account: small });

    await attack(throttle, 0, 40);
    expect(await throttle.check(victim)).toEqual({ allowed: false, reason: "account", retryAfterSeconds: 1 });
    await sleep(1_100);
    expect(await throttle.check(victim)).toEqual({ allowed: true });

    // The attacker carries on; the victim's wait stays at the cap rather than growing.
    await attack(throttle, 40, 40);
    expect(await throttle.check(victim)).toEqual({ allowed: false, reason: "account", retryAfterSeconds: 1 });
    await sleep(1_100);
    expect(await throttle.check(victim)).toEqual({ allowed: true });
  });
});
