// Attack: someone who saw a TOTP code (shoulder-surfing, phishing proxy, logs) submits it again, or races the user with it.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { createTotpVerifier, generateTotpSecret } from "../../src/mfa/totp";
import { ManualClock } from "../../src/platform/clock";
import type { KvStore } from "../../src/platform/kv/kv-store";
import { MemoryKvStore } from "../../src/platform/kv/memory-store";
import { createRedisClient, RedisKvStore } from "../../src/platform/kv/redis-store";
import { redisUrl, testRedisPrefix } from "../support/test-env";

const STEP_MS = 30_000;
// The start of a step, so the tests below can walk to the edges of the acceptance window.
const START = new Date("2026-11-27T10:00:00Z");

/** Codes from an independent implementation (OATH Toolkit), not from the code under test. */
function oathtoolCode(secret: string, at: Date): string {
  const now = `@${Math.floor(at.getTime() / 1000)}`;
  return execFileSync("oathtool", ["--totp", "-b", "--now", now, secret], { encoding: "utf8" }).trim();
}

const at = (offsetMs: number) => new Date(START.getTime() + offsetMs);
const userId = () => `user-${randomBytes(6).toString("hex")}`;

let redis: Redis;
const redisPrefix = `${testRedisPrefix()}totp-replay:${randomBytes(6).toString("hex")}:`;

beforeAll(() => {
  redis = createRedisClient(redisUrl(), { onError: () => undefined });
});

afterAll(async () => {
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

type Backend = { kv: KvStore; clock: ManualClock };
const backends: [string, () => Backend][] = [
  ["memory", () => {
    const clock = new ManualClock(START);
    return { clock, kv: new MemoryKvStore({ now: () => clock.now().getTime() }) };
  }],
  ["redis", () => ({ clock: new ManualClock(START), kv: new RedisKvStore(redis, redisPrefix) })],
];

describe.each(backends)("TOTP replay guard on the %s store", (_name, makeBackend) => {
  let backend: Backend;
  let secret: string;
  beforeEach(async () => {
    backend = makeBackend();
    secret = await generateTotpSecret();
  });
  const verifier = () => createTotpVerifier(backend);

  it("accepts a code once, then refuses it as replayed", async () => {
    const user = userId();
    const code = oathtoolCode(secret, backend.clock.now());
    expect((await verifier().verify(user, secret, code)).ok).toBe(true);
    expect(await verifier().verify(user, secret, code)).toEqual({ ok: false, reason: "replayed" });
    // Still refused later in the window, when the code would otherwise be valid.
    backend.clock.advance(STEP_MS + 29_000);
    expect(await verifier().verify(user, secret, code)).toEqual({ ok: false, reason: "replayed" });
  });

  it("refuses the previous step's code once the next step's code was used", async () => {
    const user = userId();
    const previous = oathtoolCode(secret, at(0));
    const next = oathtoolCode(secret, at(STEP_MS));
    backend.clock.advance(STEP_MS);
    expect((await verifier().verify(user, secret, next)).ok).toBe(true);
    expect(await verifier().verify(user, secret, previous)).toEqual({ ok: false, reason: "replayed" });
  });

  it("refuses a code from the window's future edge for as long as the window lasts", async () => {
    const user = userId();
    const future = oathtoolCode(secret, at(STEP_MS));
    expect((await verifier().verify(user, secret, future)).ok).toBe(true);
    // The last second in which that step is still within ±1 step.
    backend.clock.advance(3 * STEP_MS - 1000);
    expect(await verifier().verify(user, secret, future)).toEqual({ ok: false, reason: "replayed" });
  });

  it("lets exactly one of 20 concurrent submissions of one code through", async () => {
    const user = userId();
    const code = oathtoolCode(secret, backend.clock.now());
    const results = await Promise.all(Array.from({ length: 20 }, () => verifier().verify(user, secret, code)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === "replayed")).toHaveLength(19);
  });

  it("keeps users apart: one user's accepted step does not block another's", async () => {
    const otherSecret = await generateTotpSecret();
    expect((await verifier().verify(userId(), secret, oathtoolCode(secret, backend.clock.now()))).ok).toBe(true);
    expect((await verifier().verify(userId(), otherSecret, oathtoolCode(otherSecret, backend.clock.now()))).ok).toBe(true);
  });

  it("stores the accepted step with an expiry", async () => {
    const user = userId();
    const result = await verifier().verify(user, secret, oathtoolCode(secret, backend.clock.now()));
    expect(result.ok).toBe(true);
    expect(await backend.kv.get(`totp:last-step:${user}`)).toBe(String(START.getTime() / STEP_MS));
    expect(await backend.kv.ttl(`totp:last-step:${user}`)).toBeGreaterThan(0);
  });
});
