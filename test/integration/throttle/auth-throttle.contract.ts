import { setTimeout as sleep } from "node:timers/promises";
import type { AuthThrottle, CounterPolicy, ThrottlePolicy, ThrottleSubject } from "../../../src/platform/throttle/throttle";

export interface ThrottleHarness {
  /** A throttle over this harness's fresh state; each test calls it once. */
  create(policy?: ThrottlePolicy): AuthThrottle;
  cleanup(): Promise<void>;
}

// A counter that never trips in a test about another one.
const roomy: CounterPolicy = { freeFailures: 10_000, windowSeconds: 60, firstDelaySeconds: 1, maxDelaySeconds: 60 };

export function onlyCounter(reason: keyof ThrottlePolicy, counter: CounterPolicy): ThrottlePolicy {
  return { account_ip: roomy, ip: roomy, account: roomy, [reason]: counter };
}

export function login(account: string, ip: string): ThrottleSubject {
  return { account, ip, action: "login" };
}

async function failTimes(throttle: AuthThrottle, subject: ThrottleSubject, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await throttle.recordFailure(subject);
}

function times(n: number, fn: (i: number) => Promise<void>): Promise<void[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
}

/** The behaviour every throttle backend must share. Each `setup` gives fresh, empty counters. */
export function describeAuthThrottleContract(name: string, setup: () => Promise<ThrottleHarness>): void {
  describe(`AuthThrottle contract: ${name}`, () => {
    let harness: ThrottleHarness;
    const alice = login("tenant-1:alice@example.com", "203.0.113.7");

    beforeEach(async () => {
      harness = await setup();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it("allows 10 consecutive failures for one account from one IP and refuses the 11th attempt", async () => {
      const throttle = harness.create();
      for (let i = 0; i < 10; i++) {
        expect(await throttle.check(alice)).toEqual({ allowed: true });
        await throttle.recordFailure(alice);
      }
      const refused = await throttle.check(alice);
      expect(refused).toMatchObject({ allowed: false, reason: "account_ip" });
      expect(refused.allowed === false && refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      // The same account from another address is not held back by this counter.
      expect(await throttle.check(login(alice.account, "198.51.100.1"))).toEqual({ allowed: true });
    });

    it("doubles the delay with each further failure, up to the cap", async () => {
      const throttle = harness.create();
      await failTimes(throttle, alice, 10);
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) {
        const decision = await throttle.check(alice);
        delays.push(decision.allowed ? 0 : decision.retryAfterSeconds);
        await throttle.recordFailure(alice);
      }
      expect(delays).toEqual([1, 2, 4, 8]);
      await failTimes(throttle, alice, 20);
      expect(await throttle.check(alice)).toEqual({ allowed: false, reason: "account_ip", retryAfterSeconds: 900 });
    });

    it("a success resets the consecutive counter", async () => {
      const throttle = harness.create();
      await failTimes(throttle, alice, 9);
      await throttle.recordSuccess(alice);
      await failTimes(throttle, alice, 9);
      expect(await throttle.check(alice)).toEqual({ allowed: true });
      await throttle.recordFailure(alice);
      expect(await throttle.check(alice)).toMatchObject({ allowed: false, reason: "account_ip" });
    });

    it("a success does not reset the per-IP or per-account counters", async () => {
      const throttle = harness.create({
        ...onlyCounter("ip", { freeFailures: 3, windowSeconds: 60, firstDelaySeconds: 5, maxDelaySeconds: 5 }),
        account: { freeFailures: 3, windowSeconds: 60, firstDelaySeconds: 2, maxDelaySeconds: 2 },
      });
      await failTimes(throttle, alice, 3);
      await throttle.recordSuccess(alice);
      expect(await throttle.check(alice)).toEqual({ allowed: false, reason: "ip", retryAfterSeconds: 5 });
      expect(await throttle.check(login(alice.account, "198.51.100.1"))).toEqual({
        allowed: false,
        reason: "account",
        retryAfterSeconds: 2,
      });
    });

    it("the per-IP limit trips after 100 failures across many accounts", async () => {
      const throttle = harness.create();
      const ip = "192.0.2.10";
      await times(99, (i) => throttle.recordFailure(login(`tenant-1:user${i}@example.com`, ip)));
      expect(await throttle.check(login("tenant-1:fresh@example.com", ip))).toEqual({ allowed: true });
      await throttle.recordFailure(login("tenant-1:user99@example.com", ip));
      expect(await throttle.check(login("tenant-1:fresh@example.com", ip))).toMatchObject({ allowed: false, reason: "ip" });
      expect(await throttle.check(login("tenant-1:fresh@example.com", "192.0.2.11"))).toEqual({ allowed: true });
    });

    it("the per-account limit trips after 50 failures across many IPs", async () => {
      const throttle = harness.create();
      await times(49, (i) => throttle.recordFailure(login(alice.account, `10.0.${i}.1`)));
      expect(await throttle.check(login(alice.account, "10.9.9.9"))).toEqual({ allowed: true });
      await throttle.recordFailure(login(alice.account, "10.0.49.1"));
      expect(await throttle.check(login(alice.account, "10.9.9.9"))).toMatchObject({ allowed: false, reason: "account" });
      expect(await throttle.check(login("tenant-1:bob@example.com", "10.0.0.1"))).toEqual({ allowed: true });
    });

    it("allows an attempt again once the delay has passed; one more failure waits longer", async () => {
      const throttle = harness.create(
        onlyCounter("account_ip", { freeFailures: 2, windowSeconds: 60, firstDelaySeconds: 1, maxDelaySeconds: 4 }),
      );
      await failTimes(throttle, alice, 2);
      expect(await throttle.check(alice)).toEqual({ allowed: false, reason: "account_ip", retryAfterSeconds: 1 });
      await sleep(1_100);
      expect(await throttle.check(alice)).toEqual({ allowed: true });
      await throttle.recordFailure(alice);
      expect(await throttle.check(alice)).toEqual({ allowed: false, reason: "account_ip", retryAfterSeconds: 2 });
    });

    it("counts each action apart: password failures do not throttle the MFA step", async () => {
      const throttle = harness.create();
      const mfa: ThrottleSubject = { ...alice, action: "mfa" };
      await failTimes(throttle, alice, 10);
      expect(await throttle.check(alice)).toMatchObject({ allowed: false });
      expect(await throttle.check(mfa)).toEqual({ allowed: true });
      await failTimes(throttle, mfa, 10);
      expect(await throttle.check(mfa)).toMatchObject({ allowed: false, reason: "account_ip", retryAfterSeconds: 1 });
      expect(await throttle.check({ ...alice, action: "forgot" })).toEqual({ allowed: true });
    });

    it("counts every one of 30 concurrent failures", async () => {
      // Exactly 30 counted gives a 1 s delay; 29 would still be allowed, 31 would wait 2 s.
      const throttle = harness.create(
        onlyCounter("account_ip", { freeFailures: 30, windowSeconds: 60, firstDelaySeconds: 1, maxDelaySeconds: 60 }),
      );
      await times(30, () => throttle.recordFailure(alice));
      expect(await throttle.check(alice)).toEqual({ allowed: false, reason: "account_ip", retryAfterSeconds: 1 });
    });

    it("treats one IPv6 /64 as one address and an IPv4-mapped address as IPv4", async () => {
      const throttle = harness.create(
        onlyCounter("ip", { freeFailures: 4, windowSeconds: 60, firstDelaySeconds: 1, maxDelaySeconds: 1 }),
      );
      await times(4, (i) => throttle.recordFailure(login(`tenant-1:u${i}@example.com`, `2001:db8:1:2::${i + 1}`)));
      expect(await throttle.check(login("tenant-1:x@example.com", "2001:db8:1:2:ffff::9"))).toMatchObject({ reason: "ip" });
      expect(await throttle.check(login("tenant-1:x@example.com", "2001:db8:1:3::1"))).toEqual({ allowed: true });

      await times(4, (i) => throttle.recordFailure(login(`tenant-1:v${i}@example.com`, "::ffff:192.0.2.5")));
      expect(await throttle.check(login("tenant-1:x@example.com", "192.0.2.5"))).toMatchObject({ reason: "ip" });
    });
  });
}
