import { parseIp } from "../ip";
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from "rate-limiter-flexible";
import { sha256Hex } from "../crypto";
import type { RedisConnection } from "../kv/redis-client";

/**
 * Steps whose failures are counted apart: MFA failures never feed the password counters. `saml_decrypt`:
 * EncryptedAssertions that do not decrypt (a padding-oracle attack needs thousands of them).
 */
export type ThrottledAction = "login" | "mfa" | "forgot" | "saml_decrypt";

/** Which counter refused: consecutive per (account, IP), per IP, or per account across all IPs. */
export type ThrottleReason = "account_ip" | "ip" | "account";

export interface ThrottleSubject {
  /** Opaque, built by the caller (e.g. `${tenantId}:${emailKey}`); stored only as its SHA-256. */
  account: string;
  ip: string;
  action: ThrottledAction;
}

export type ThrottleDecision =
  | { allowed: true }
  | { allowed: false; retryAfterSeconds: number; reason: ThrottleReason };

/** One counter. All durations are whole seconds (Redis expiries are set in seconds). */
export interface CounterPolicy {
  /** Failures that pass without delay; the failure that reaches this count starts the first delay. */
  freeFailures: number;
  /** How long failures are remembered, from the first one (fixed window). */
  windowSeconds: number;
  /** Delay after the `freeFailures`-th failure; each further failure doubles it. */
  firstDelaySeconds: number;
  /** No single delay is longer: the counter slows an attacker down but never locks anyone out for good. */
  maxDelaySeconds: number;
}

export type ThrottlePolicy = Readonly<Record<ThrottleReason, Readonly<CounterPolicy>>>;

const HOUR = 3_600;
const FIFTEEN_MINUTES = 900;

/**
 * Defaults. A delay never exceeds 15 minutes on any counter, so the worst an attacker can do to a
 * victim's account is make them wait; the per-account counter allows 50 failures an hour from all
 * IPs together before it starts delaying, so one IP alone (10) trips its own counter long before.
 */
export const DEFAULT_THROTTLE_POLICY: ThrottlePolicy = Object.freeze({
  // Contract: at the latest the 11th consecutive failure for one account from one IP is throttled.
  account_ip: Object.freeze({ freeFailures: 10, windowSeconds: 24 * HOUR, firstDelaySeconds: 1, maxDelaySeconds: FIFTEEN_MINUTES }),
  // Credential stuffing from one address across many accounts. Shared NATs make long blocks costly.
  ip: Object.freeze({ freeFailures: 100, windowSeconds: HOUR, firstDelaySeconds: 1, maxDelaySeconds: FIFTEEN_MINUTES }),
  // Distributed guessing against one account; capped low because the victim waits too.
  account: Object.freeze({ freeFailures: 50, windowSeconds: HOUR, firstDelaySeconds: 1, maxDelaySeconds: FIFTEEN_MINUTES }),
});

// On a Redis Cluster every limiter call (INCR script, MULTI of GET+PTTL on one key, DEL) touches one key.
export type ThrottleBackend = { kind: "redis"; client: RedisConnection; keyPrefix: string } | { kind: "memory" };

export interface AuthThrottle {
  /** Whether an attempt may proceed now. Consumes nothing. */
  check(subject: ThrottleSubject): Promise<ThrottleDecision>;
  /** Counts one failure on all three counters. */
  recordFailure(subject: ThrottleSubject): Promise<void>;
  /** Resets the consecutive (account, IP) counter only: a success does not excuse an IP or an account. */
  recordSuccess(subject: ThrottleSubject): Promise<void>;
}

const REASONS: readonly ThrottleReason[] = ["account_ip", "ip", "account"];

/** Delay in seconds that follows the `failures`-th failure, or 0 while still free. */
export function delayAfterFailure(policy: CounterPolicy, failures: number): number {
  if (failures < policy.freeFailures) return 0;
  // 2 ** large is Infinity, which min() turns into the cap.
  return Math.min(policy.firstDelaySeconds * 2 ** (failures - policy.freeFailures), policy.maxDelaySeconds);
}

function assertPolicy(policy: ThrottlePolicy): void {
  for (const reason of REASONS) {
    const counter = policy[reason];
    for (const [name, value] of Object.entries(counter)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`throttle policy ${reason}.${name} must be a positive whole number, got ${value}`);
      }
    }
    if (counter.maxDelaySeconds < counter.firstDelaySeconds) {
      throw new RangeError(`throttle policy ${reason}.maxDelaySeconds must be at least firstDelaySeconds`);
    }
  }
}

/** An IPv6 holder usually controls a whole /64, so it counts as one address. */
function ipKey(ip: string): string {
  const address = parseIp(ip);
  if (!address) return ip;
  if (address.kind() === "ipv4") return address.toString();
  return `${address.toNormalizedString().split(":").slice(0, 4).join(":")}::/64`;
}

function subjectKeys(subject: ThrottleSubject): Record<ThrottleReason, string> {
  const account = sha256Hex(subject.account);
  const ip = ipKey(subject.ip);
  const action = subject.action;
  return { account_ip: `${action}:${account}:${ip}`, ip: `${action}:${ip}`, account: `${action}:${account}` };
}

// Memory records expire by timer; one not yet swept reports msBeforeNext <= 0.
function liveRecord(res: RateLimiterRes | null): RateLimiterRes | null {
  return res !== null && res.msBeforeNext > 0 ? res : null;
}

/**
 * One counter: `failures` counts atomically (rate-limiter-flexible's INCR script on Redis), and each
 * failure past the free ones blocks a key named after its own count. Writers never share a block key,
 * so concurrent failures cannot overwrite a longer delay with a shorter one; `check` reads the block
 * of the current count.
 */
class ProgressiveCounter {
  constructor(
    readonly reason: ThrottleReason,
    private readonly policy: CounterPolicy,
    private readonly failures: RateLimiterAbstract,
    private readonly delays: RateLimiterAbstract,
  ) {}

  /** Milliseconds until an attempt may proceed, 0 when it may now. */
  async waitMs(key: string): Promise<number> {
    const count = liveRecord(await this.failures.get(key));
    if (count === null || count.consumedPoints < this.policy.freeFailures) return 0;
    const delay = liveRecord(await this.delays.get(`${key}:${count.consumedPoints}`));
    // When the failure window closes first, the count (and with it the delay) is forgotten then.
    return delay === null ? 0 : Math.min(delay.msBeforeNext, count.msBeforeNext);
  }

  async fail(key: string): Promise<void> {
    const { consumedPoints } = await this.failures.penalty(key, 1);
    const seconds = delayAfterFailure(this.policy, consumedPoints);
    if (seconds > 0) await this.delays.block(`${key}:${consumedPoints}`, seconds);
  }

  async reset(key: string): Promise<void> {
    await this.failures.delete(key);
  }
}

function makeLimiter(backend: ThrottleBackend, keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
  if (backend.kind === "memory") return new RateLimiterMemory({ keyPrefix, points, duration });
  // No insurance limiter: when Redis fails the call rejects, so the caller refuses rather than lets through.
  return new RateLimiterRedis({ storeClient: backend.client, keyPrefix: backend.keyPrefix + keyPrefix, points, duration });
}

export function createAuthThrottle(options: { backend: ThrottleBackend; policy?: ThrottlePolicy }): AuthThrottle {
  const policy = options.policy ?? DEFAULT_THROTTLE_POLICY;
  assertPolicy(policy);
  const build = (reason: ThrottleReason): ProgressiveCounter => {
    const counter = policy[reason];
    return new ProgressiveCounter(
      reason,
      counter,
      makeLimiter(options.backend, `throttle:${reason}:failures`, counter.freeFailures, counter.windowSeconds),
      makeLimiter(options.backend, `throttle:${reason}:delay`, 1, counter.maxDelaySeconds),
    );
  };
  const consecutive = build("account_ip");
  const counters = [consecutive, build("ip"), build("account")];

  return {
    async check(subject) {
      const keys = subjectKeys(subject);
      const waits = await Promise.all(counters.map(async (c) => ({ reason: c.reason, ms: await c.waitMs(keys[c.reason]) })));
      // The longest wait is the one that decides when the attempt may proceed.
      const longest = waits.reduce((a, b) => (b.ms > a.ms ? b : a));
      if (longest.ms <= 0) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(longest.ms / 1_000)), reason: longest.reason };
    },

    async recordFailure(subject) {
      const keys = subjectKeys(subject);
      await Promise.all(counters.map((c) => c.fail(keys[c.reason])));
    },

    async recordSuccess(subject) {
      await consecutive.reset(subjectKeys(subject).account_ip);
    },
  };
}
