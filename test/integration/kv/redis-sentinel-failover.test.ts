// A Sentinel failover under Gatehouse's own client, built from configuration as the service builds it
// (src/platform/infrastructure.ts). Two ways a master is replaced: it crashes (SIGKILL) and the sentinels
// promote the replica, or an operator forces a failover while it keeps running. Either way sessions
// written (and replicated) before stay valid, new writes go to the new master without rebuilding the
// client, and while there is no master, session reads and writes fail closed with the service's 503.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { loadConfig } from "../../../src/config/load";
import { systemClock } from "../../../src/platform/clock";
import { sha256Hex } from "../../../src/platform/crypto";
import { toAppError } from "../../../src/platform/http/errors.middleware";
import { createRedisConnection } from "../../../src/platform/kv/redis-client";
import { RedisKvStore } from "../../../src/platform/kv/redis-store";
import { createSessionStore } from "../../../src/sessions/session.store";
import type { NewSession } from "../../../src/sessions/session";
import { startSentinelGroup, type LocalSentinelGroup } from "../../support/redis-sentinel";

const PASSWORD = randomBytes(12).toString("hex");
const SENTINEL_PASSWORD = randomBytes(12).toString("hex");
const MASTER_NAME = "gh-failover";
/** Sentinel's failover (down-after 1 s, then a vote and the promotion); a split vote retries after 2 × failover-timeout. */
const PROMOTION_WITHIN_MS = 20_000;
/** The client's reconnect backoff is capped at 2 s. */
const RECOVERY_WITHIN_MS = 8_000;
/** The client's command deadline (1 s by default) and some slack. */
const SETTLES_WITHIN_MS = 2_500;

const NEW_SESSION: NewSession = {
  userId: "user-failover",
  tenantId: "tenant-failover",
  method: "password",
  assurance: "aal1",
  amr: ["pwd"],
  ip: "203.0.113.7",
  userAgent: "jest",
  idleTimeoutMs: 600_000,
  absoluteTimeoutMs: 3_600_000,
};

const connectionErrors: Error[] = [];

function startGroup(): Promise<LocalSentinelGroup> {
  return startSentinelGroup({ masterName: MASTER_NAME, password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD, quorum: 2, downAfterMs: 1_000, failoverTimeoutMs: 5_000 });
}

/** The session store on the Redis client and KV store that the service builds from this configuration. */
function gatehouseStore(group: LocalSentinelGroup) {
  const config = loadConfig({
    NODE_ENV: "test",
    REDIS_SENTINELS: group.sentinels.map(({ host, port }) => `${host}:${port}`).join(","),
    REDIS_SENTINEL_NAME: group.masterName,
    REDIS_PASSWORD: PASSWORD,
    REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
    REDIS_KEY_PREFIX: `gh-test:failover:${randomBytes(6).toString("hex")}:`,
  });
  expect(config.redis).toMatchObject({ mode: "sentinel", masterName: MASTER_NAME });
  // As src/platform/infrastructure.ts does: one client, owned by the KV store.
  const redis = createRedisConnection(config.redis!, { onError: (error) => connectionErrors.push(error), connectionName: "gatehouse" }) as Redis;
  const kv = new RedisKvStore(redis, config.redisKeyPrefix, { ownsClient: true });
  const sessionKey = (token: string): string => `${config.redisKeyPrefix}session:${sha256Hex(token)}`;
  return { redis, kv, sessions: createSessionStore({ kv, clock: systemClock }), sessionKey };
}

type GatehouseStore = ReturnType<typeof gatehouseStore>;

async function closeAll(store: GatehouseStore | undefined, group: LocalSentinelGroup | undefined): Promise<void> {
  // Closes the client as the service does on shutdown (QUIT, or a disconnect when that fails).
  await store?.kv.close();
  await group?.stop();
}

describe("the master crashes (SIGKILL) and the sentinels promote the replica", () => {
  let group: LocalSentinelGroup | undefined;
  let store: GatehouseStore | undefined;
  beforeAll(async () => {
    group = await startGroup();
  }, 30_000);
  afterAll(() => closeAll(store, group));

  it("fails closed while there is no master, then serves the sessions written before through the same client", async () => {
    const sentinel = group!;
    const [master, replica] = [sentinel.master, sentinel.replica];
    store = gatehouseStore(sentinel);
    const { redis, kv, sessions, sessionKey } = store;

    expect(await sentinel.namedMasters()).toEqual(Array(3).fill(`127.0.0.1:${master.port}`));
    const before = await sessions.create(NEW_SESSION);
    expect(await redis.info("server")).toContain(`tcp_port:${master.port}`);
    // WAIT counts the replicas that acknowledged this connection's writes: the session is on the replica.
    expect(await redis.wait(1, 500)).toBe(1);
    expect(await sentinel.nodeCli(replica.port, "exists", sessionKey(before.token))).toBe("1");

    await master.kill();

    // No master now: a session check and a sign-in's session write issued during the outage each settle
    // within the command deadline, with the error the HTTP layer turns into 503 (the session check
    // answers "unavailable").
    const started = Date.now();
    const [read, write] = await Promise.all([
      settled(sessions.findByToken(before.token)),
      settled(sessions.create({ ...NEW_SESSION, userId: "user-during-outage" })),
    ]);
    expect(Date.now() - started).toBeLessThan(SETTLES_WITHIN_MS);
    for (const outcome of [read, write]) {
      expect(outcome).toMatchObject({ ok: false });
      expect(toAppError(outcome.ok ? undefined : outcome.error)).toMatchObject({ status: 503, code: "service_unavailable" });
    }
    // ...and it was an outage: the sentinels had not promoted anyone yet.
    expect(await sentinel.namedMasters()).toContain(`127.0.0.1:${master.port}`);

    const promoted = await pollUntil("every sentinel naming the replica as master", PROMOTION_WITHIN_MS, async () =>
      (await sentinel.namedMasters()).every((address) => address === `127.0.0.1:${replica.port}`));
    expect(await sentinel.nodeCli(replica.port, "role")).toMatch(/^master\b/);

    // The same client, not rebuilt: it asks the sentinels again and finds the promoted replica. Polled
    // until a read succeeds at all; what it returns is checked once (null would mean the session was lost).
    const found = await pollUntil("a session read through the same client to succeed", RECOVERY_WITHIN_MS, () =>
      sessions.findByToken(before.token).catch(() => false as const));
    expect(found.value).toMatchObject({ id: before.session.id, userId: NEW_SESSION.userId });
    expect(found.at - promoted.at).toBeLessThan(RECOVERY_WITHIN_MS);
    expect(await redis.info("server")).toContain(`tcp_port:${replica.port}`);

    // New writes land on the new master.
    const after = await sessions.create({ ...NEW_SESSION, userId: "user-after-failover" });
    expect(await sessions.findByToken(after.token)).toMatchObject({ id: after.session.id, userId: "user-after-failover" });
    expect(await sentinel.nodeCli(replica.port, "exists", sessionKey(after.token))).toBe("1");
    expect((await sessions.listForUser(NEW_SESSION.userId)).map((s) => s.id)).toEqual([before.session.id]);
    // The write refused during the outage (failed from the client's queue, never sent) was not replayed
    // later: not even its first step, the user's index.
    expect(await kv.setMembers("user-sessions:user-during-outage")).toEqual([]);
  }, 35_000);
});

describe("an operator forces a failover (SENTINEL FAILOVER) and the old master keeps running", () => {
  let group: LocalSentinelGroup | undefined;
  let store: GatehouseStore | undefined;
  beforeAll(async () => {
    group = await startGroup();
  }, 30_000);
  afterAll(() => closeAll(store, group));

  it("moves the same client to the new master at once, so no write lands on the master about to be demoted", async () => {
    const sentinel = group!;
    const [master, replica] = [sentinel.master, sentinel.replica];
    store = gatehouseStore(sentinel);
    const { redis, kv, sessions, sessionKey } = store;

    const before = await sessions.create(NEW_SESSION);
    expect(await redis.wait(1, 500)).toBe(1);
    // The client watches the sentinels for a switch (one subscription per sentinel).
    await pollUntil("the client subscribed to the sentinels", 2_000, async () => (await sentinel.subscribers()).every((n) => n === 1));

    await sentinel.forceFailover();
    await pollUntil("every sentinel naming the replica as master", PROMOTION_WITHIN_MS, async () =>
      (await sentinel.namedMasters()).every((address) => address === `127.0.0.1:${replica.port}`));
    await pollUntil("the client on the new master", 2_000, async () =>
      (await redis.info("server").catch(() => "")).includes(`tcp_port:${replica.port}`));
    // The old master still accepts writes (the sentinels demote it some seconds later, and it then drops
    // everything written to it since): the client has already left it.
    expect(await sentinel.nodeCli(master.port, "role")).toMatch(/^master\b/);

    // A sign-out after the switch reaches the new master, where it lasts.
    expect(await sessions.revoke(before.session.id)).toBe(true);
    expect(await sentinel.nodeCli(replica.port, "exists", sessionKey(before.token))).toBe("0");
    expect(await sessions.findByToken(before.token)).toBeNull();
    const after = await sessions.create({ ...NEW_SESSION, userId: "user-after-failover" });
    expect(await sentinel.nodeCli(replica.port, "exists", sessionKey(after.token))).toBe("1");
    expect(await sentinel.nodeCli(master.port, "exists", sessionKey(after.token))).toBe("0");

    // Closing the store (as the service does on shutdown) also ends the client's subscriptions to the sentinels.
    await kv.close();
    await pollUntil("the sentinel subscriptions closed", 2_000, async () => (await sentinel.subscribers()).every((n) => n === 0));
  }, 35_000);
});

async function settled<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}

/** Polls `check` every 100 ms until it returns something other than false; fails after `withinMs`. */
async function pollUntil<T>(what: string, withinMs: number, check: () => Promise<T | false>): Promise<{ value: T; at: number }> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== false) return { value, at: Date.now() };
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}; last client errors: ${connectionErrors.slice(-3).map((e) => e.message).join(" | ")}`);
    await sleep(100);
  }
}
