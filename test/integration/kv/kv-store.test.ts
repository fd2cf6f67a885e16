import { randomBytes } from "node:crypto";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { MemoryKvStore } from "../../../src/platform/kv/memory-store";
import { createRedisClient, RedisKvStore } from "../../../src/platform/kv/redis-store";
import { createTrackedReads } from "../../../src/platform/kv/tracked-reads";
import { redisUrl, testRedisPrefix } from "../../support/test-env";
import { describeKvStoreContract } from "./kv-store.contract";

const quiet = (): void => undefined;

function randomPrefix(): string {
  return `${testRedisPrefix()}kv:${randomBytes(6).toString("hex")}:`;
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${globEscape(prefix)}*`, "COUNT", 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

describe("RedisKvStore", () => {
  let redis: Redis;

  beforeAll(() => {
    redis = createRedisClient(redisUrl(), { onError: quiet });
  });

  afterAll(async () => {
    await redis.quit();
  });

  describeKvStoreContract("redis", async () => {
    const prefix = randomPrefix();
    return {
      store: new RedisKvStore(redis, prefix),
      advanceTime: (ms) => sleep(ms),
      cleanup: () => deleteByPrefix(redis, prefix),
    };
  });

  // The same contract with this process's copies on (tracked-reads.ts), as production runs on one node.
  describeKvStoreContract("redis with tracked reads", async () => {
    const prefix = randomPrefix();
    const trackedReads = createTrackedReads({
      url: redisUrl(), keyPrefix: prefix, cache: { maxEntries: 100, maxAgeMs: 60_000 }, redis: { onError: quiet }, logger: { info: quiet, warn: quiet },
    });
    await trackedReads.whenEnabled(5_000);
    return {
      store: new RedisKvStore(redis, prefix, { trackedReads }),
      advanceTime: (ms) => sleep(ms),
      cleanup: async () => {
        await trackedReads.close();
        await deleteByPrefix(redis, prefix);
      },
    };
  });

  it("close() leaves a client it does not own open", async () => {
    await new RedisKvStore(redis, randomPrefix()).close();
    expect(await redis.ping()).toBe("PONG");
  });
});

describeKvStoreContract("memory", async () => {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const store = new MemoryKvStore({ prefix: "kv:", now: () => now });
  return {
    store,
    advanceTime: async (ms) => {
      now += ms;
    },
    cleanup: () => store.close(),
  };
});

describe("MemoryKvStore", () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it("sweep() drops expired entries that nobody reads again", async () => {
    let now = 0;
    const store = new MemoryKvStore({ now: () => now });
    await store.set("short", "v", { ttlMs: 100 });
    await store.set("long", "v", { ttlMs: 1_000 });
    await store.set("forever", "v");
    now += 150;
    expect(store.sweep()).toBe(1);
    expect(store.sweep()).toBe(0);
    expect(await store.get("long")).toBe("v");
    await store.close();
  });

  it("sweeps on a timer until closed", async () => {
    jest.useFakeTimers();
    const store = new MemoryKvStore({ sweepIntervalMs: 1_000 });
    const sweep = jest.spyOn(store, "sweep");
    jest.advanceTimersByTime(3_000);
    expect(sweep).toHaveBeenCalledTimes(3);
    await store.close();
    jest.advanceTimersByTime(3_000);
    expect(sweep).toHaveBeenCalledTimes(3);
  });

  it("refuses work once closed", async () => {
    const store = new MemoryKvStore();
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
    await expect(store.get("a")).rejects.toThrow(/closed/);
  });
});

/** A TCP hop in front of the real Redis that a test can cut and restore, to simulate an outage. */
class CuttableProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => this.pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private pipe(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}

async function eventually(check: () => Promise<unknown>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

describe("RedisKvStore fails closed", () => {
  it("rejects quickly instead of hanging when Redis cannot be reached", async () => {
    const client = createRedisClient("redis://127.0.0.1:1", { onError: quiet });
    const store = new RedisKvStore(client, randomPrefix(), { ownsClient: true });
    const started = Date.now();
    await expect(store.get("anything")).rejects.toThrow();
    await expect(store.setIfGreater("step", 1)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_500);
    await store.close();
  });

  it("stops reconnecting once an owning store is closed", async () => {
    const client = createRedisClient("redis://127.0.0.1:1", { onError: quiet, maxReconnectDelayMs: 50 });
    const store = new RedisKvStore(client, randomPrefix(), { ownsClient: true });
    await expect(store.ping()).rejects.toThrow();
    await store.close();
    const attempts = jest.fn();
    client.on("reconnecting", attempts);
    client.on("connect", attempts);
    await sleep(300);
    expect(attempts).not.toHaveBeenCalled();
  });

  it("rejects while Redis is gone and recovers by itself when it returns", async () => {
    const target = new URL(redisUrl());
    const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 6379) });
    await proxy.start();
    const viaProxy = new URL(redisUrl());
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const client = createRedisClient(viaProxy.toString(), { onError: quiet });
    // The key carries a TTL so that a failed run leaves nothing behind for long.
    const store = new RedisKvStore(client, randomPrefix(), { ownsClient: true });
    try {
      await store.set("k", "v", { ttlMs: 60_000 });

      await proxy.stop();
      const started = Date.now();
      await expect(store.get("k")).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_500);

      await proxy.start();
      await eventually(() => store.ping(), 8_000);
      expect(await store.get("k")).toBe("v");
      await store.del("k");
    } finally {
      await store.close();
      await proxy.stop();
    }
  });
});
