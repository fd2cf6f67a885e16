import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { createRedisClient, RedisKvStore } from "../../../src/platform/kv/redis-store";
import { createTrackedReads, type TrackedReads } from "../../../src/platform/kv/tracked-reads";
import { redisUrl, testRedisPrefix } from "../../support/test-env";

const quiet = (): void => undefined;
// Long enough that a change seen within a test's wait was reported by Redis, never aged out.
const MAX_AGE_MS = 60_000;

/** Waits for `check` to hold, polling: news from Redis arrives on another connection, a moment later. */
async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(5);
  }
}

type Rig = {
  tracked: TrackedReads;
  /** This instance: the store whose reads may come from copies. */
  here: RedisKvStore;
  /** Another instance on the same Redis, without copies. */
  elsewhere: RedisKvStore;
  connections: Partial<Record<"reader" | "news", Redis>>;
  warnings: string[];
};

describe("tracked reads (Redis CLIENT TRACKING)", () => {
  let admin: Redis;
  let rig: Rig;
  let prefix: string;

  beforeAll(() => {
    admin = createRedisClient(redisUrl(), { onError: quiet });
  });

  afterAll(async () => {
    await admin.quit();
  });

  async function start(options: { heartbeatMs?: number; proofTimeoutMs?: number } = {}): Promise<Rig> {
    prefix = `${testRedisPrefix()}tracked:${randomBytes(6).toString("hex")}:`;
    const connections: Rig["connections"] = {};
    const warnings: string[] = [];
    const tracked = createTrackedReads({
      url: redisUrl(), keyPrefix: prefix, cache: { maxEntries: 100, maxAgeMs: MAX_AGE_MS }, redis: { onError: quiet }, ...options,
      logger: { info: quiet, warn: (...args: unknown[]) => void warnings.push(String(args.at(-1))) } as never,
      connect: (role, clientOptions) => (connections[role] = createRedisClient(redisUrl(), clientOptions)),
    });
    const here = new RedisKvStore(createRedisClient(redisUrl(), { onError: quiet }), prefix, { ownsClient: true, trackedReads: tracked });
    const elsewhere = new RedisKvStore(createRedisClient(redisUrl(), { onError: quiet }), prefix, { ownsClient: true });
    await tracked.whenEnabled(5_000);
    rig = { tracked, here, elsewhere, connections, warnings };
    return rig;
  }

  afterEach(async () => {
    await rig.here.close();
    await rig.elsewhere.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });

  /** Closes one of our connections from the server's side, as a Redis restart or a network cut would. */
  async function kill(role: "reader" | "news"): Promise<void> {
    const port = rig.connections[role]!.stream.localPort;
    await admin.client("KILL", "ADDR", `127.0.0.1:${port}`);
  }

  async function copied(key: string, value: string): Promise<void> {
    await rig.elsewhere.set(key, value);
    expect(await rig.here.getCached(key)).toBe(value);
    const hits = rig.tracked.cache.hits;
    expect(await rig.here.getCached(key)).toBe(value);
    expect(rig.tracked.cache.hits).toBe(hits + 1);
  }

  it("answers a repeated read from this process's copy, without asking Redis", async () => {
    await start();
    await copied("session:a", "A");
    const commands = async () => Number(/cmdstat_get:calls=(\d+)/.exec(await admin.info("commandstats"))?.[1] ?? 0);
    const before = { gets: await commands(), hits: rig.tracked.cache.hits };
    for (let i = 0; i < 200; i += 1) expect(await rig.here.getCached("session:a")).toBe("A");
    expect(rig.tracked.cache.hits - before.hits).toBe(200);
    // Other suites share this Redis and may GET meanwhile: half the reads, at most, is room enough for them.
    expect((await commands()) - before.gets).toBeLessThan(100);
  });

  it("threat: revoked session passes at another instance — a delete made elsewhere drops this process's copy", async () => {
    // Attack: a session is revoked (logout, admin revoke) through one instance; the stolen cookie is replayed
    // against another instance that holds a copy of the session.
    await start();
    await copied("session:a", "A");
    await rig.elsewhere.del("session:a");
    await eventually(async () => (await rig.here.getCached("session:a")) === null, "the delete seen here");
  });

  it("sees a change or an expiry made elsewhere", async () => {
    await start();
    await copied("session:a", "A");
    await rig.elsewhere.set("session:a", "B");
    await eventually(async () => (await rig.here.getCached("session:a")) === "B", "the new value seen here");
    await copied("session:b", "B");
    await rig.elsewhere.expire("session:b", 50);
    await eventually(async () => (await rig.here.getCached("session:b")) === null, "the expiry seen here");
  });

  it.each([["the news connection dropped", ["news"]], ["the reader connection dropped", ["reader"]], ["both connections dropped (a Redis restart)", ["news", "reader"]]] as const)(
    "threat: invalidations lost while %s — copies are dropped and reads go to Redis until the path is proved again",
    async (_, roles) => {
      // Attack: changes made while the connection that hears Redis's news is down are never heard; a copy kept
      // through the outage would let a session revoked meanwhile pass.
      await start();
      await copied("session:a", "A");
      await Promise.all(roles.map((role) => kill(role)));
      await eventually(() => !rig.tracked.cache.enabled, "copies turned off");
      expect(rig.tracked.cache.size).toBe(0);
      await rig.elsewhere.set("session:a", "changed while the news was down");
      expect(await rig.here.getCached("session:a")).toBe("changed while the news was down");
      await rig.tracked.whenEnabled(5_000);
      await copied("session:a", "A again");
      await rig.elsewhere.del("session:a");
      await eventually(async () => (await rig.here.getCached("session:a")) === null, "the delete seen after the reconnect");
    },
  );

  it("threat: invalidations silently stop — a proof that goes unheard turns copies off", async () => {
    // Attack: the news connection stays open but hears nothing (here: no longer subscribed), so no close event
    // says so; only the heartbeat's proof can tell, and until then copies would outlive revocations.
    await start({ heartbeatMs: 50, proofTimeoutMs: 200 });
    await copied("session:a", "A");
    await rig.connections.news!.unsubscribe("__redis__:invalidate");
    await eventually(() => !rig.tracked.cache.enabled, "copies turned off by an unheard proof");
    expect(rig.warnings.some((why) => /invalidation/.test(why))).toBe(true);
    await rig.elsewhere.set("session:a", "B");
    expect(await rig.here.getCached("session:a")).toBe("B");
  });

  it("stops using copies when closed", async () => {
    await start();
    await copied("session:a", "A");
    await rig.tracked.close();
    expect(rig.tracked.cache.enabled).toBe(false);
    expect(rig.tracked.cache.size).toBe(0);
  });
});
