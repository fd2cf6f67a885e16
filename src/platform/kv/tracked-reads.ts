import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../logger";
import { ReadCache, type ReadCacheOptions } from "./read-cache";
import { createRedisClient, type RedisClientOptions } from "./redis-client";

/** Where Redis publishes invalidations for clients that redirect them (RESP2). */
const CHANNEL = "__redis__:invalidate";

export type TrackedReadsOptions = {
  /** One Redis node (REDIS_URL). Not for Sentinel or Cluster: see the comment on createTrackedReads. */
  url: string;
  cache: ReadCacheOptions;
  /** Prefix of the proof keys (the store's key prefix). */
  keyPrefix: string;
  /** How often the news channel is proved to work while copies are used. */
  heartbeatMs?: number;
  /** How long a proof waits for its invalidation before copies are dropped. */
  proofTimeoutMs?: number;
  redis?: Pick<RedisClientOptions, "commandTimeoutMs" | "connectTimeoutMs" | "maxReconnectDelayMs" | "onError">;
  logger: Pick<Logger, "info" | "warn">;
  /** Opens each of the two connections; tests pass one that keeps a handle on them. */
  connect?: (role: "reader" | "news", options: RedisClientOptions) => Redis;
};

export type TrackedReads = {
  readonly cache: ReadCache;
  /** The value at `key` (prefixed), from this process's copy when there is a fit one, otherwise from Redis. */
  get(key: string): Promise<string | null>;
  /** This process changed `key`: drop its copy at once, before Redis's news of it arrives. */
  changed(key: string): void;
  /** Resolves once copies are in use (tests and the bench); rejects after `timeoutMs`. */
  whenEnabled(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
};

/**
 * Server-assisted client-side caching (Redis CLIENT TRACKING) for the reads that may skip a round trip.
 *
 * Two connections of our own: `reader`, whose reads Redis remembers, and `news`, subscribed (RESP2) to the
 * invalidation channel, where Redis sends the name of every remembered key as soon as anyone changes,
 * deletes or expires it. Copies are used only while the whole path is proved to work: after both
 * connections are up and the reader's tracking names the news connection, a proof reads a fresh key and
 * changes it, and copies are used once its invalidation has arrived. The proof repeats every
 * `heartbeatMs`; a proof that goes unheard within `proofTimeoutMs`, or either connection closing, drops
 * every copy and reads go straight to Redis until a proof passes again.
 *
 * One node only. Client ids are per server: after a Sentinel failover or on a Cluster, the reader could
 * be made to redirect its news to an id that names some other client on another node.
 */
export function createTrackedReads(options: TrackedReadsOptions): TrackedReads {
  const { logger } = options;
  const heartbeatMs = options.heartbeatMs ?? 2_000;
  const proofTimeoutMs = options.proofTimeoutMs ?? 1_000;
  const cache = new ReadCache(options.cache);
  const instance = randomBytes(6).toString("hex");
  const connect = options.connect ?? ((_role, clientOptions) => createRedisClient(options.url, clientOptions));
  const reader = connect("reader", { ...options.redis, connectionName: "gatehouse-tracked-reads" });
  // RESP2, so invalidations arrive as pub/sub messages (ioredis drops RESP3 "invalidate" pushes), and no
  // automatic resubscription: each new connection is asked its id first, which a subscribed one cannot answer.
  const news = connect("news", { ...options.redis, connectionName: "gatehouse-tracked-news", protocol: 2, autoResubscribe: false });

  /** Moves on whenever the path may have broken: an arming or proof of an earlier generation enables nothing. */
  let generation = 0;
  /** Moves on whenever the news connection is replaced: its id is only good for the connection it was read on. */
  let newsEpoch = 0;
  let newsId: number | undefined;
  let arming = false;
  let proofs = 0;
  let awaited: { key: string; heard: () => void } | undefined;
  let closed = false;
  const enabledWaiters = new Set<() => void>();
  // A failure that repeats at every heartbeat (an ACL without CLIENT, say) is logged once until copies come back.
  let lastWarning: string | undefined;
  const warnOnce = (message: string, details: Record<string, unknown>): void => {
    if (message === lastWarning) return;
    lastWarning = message;
    logger.warn(details, message);
  };

  function lost(why: string): void {
    generation += 1;
    if (cache.enabled) logger.warn({ why }, "session read cache off: reads go to Redis until invalidations are proved to arrive again");
    cache.disable();
  }

  news.on("messageBuffer", (channel: Buffer, payload: unknown) => {
    if (channel.toString() !== CHANNEL) return;
    // A null payload: the database was flushed (FLUSHDB, FLUSHALL), every remembered key with it.
    if (!Array.isArray(payload)) {
      cache.clear();
      return;
    }
    for (const item of payload) {
      const key = String(item);
      cache.invalidate(key);
      if (awaited?.key === key) awaited.heard();
    }
  });
  news.on("ready", () => {
    newsEpoch += 1;
    newsId = undefined;
    lost("news connection (re)connected");
    const epoch = newsEpoch;
    void (async () => {
      const id = Number(await news.client("ID"));
      await news.subscribe(CHANNEL);
      // A reader that dropped meanwhile does not matter here (arm() starts over); a news connection replaced does.
      if (epoch !== newsEpoch || closed) return;
      newsId = id;
      await arm();
    })().catch((error: unknown) => warnOnce("session read cache: subscribing to invalidations failed", { err: errorOf(error) }));
  });
  news.on("close", () => {
    newsEpoch += 1;
    newsId = undefined;
    lost("news connection closed");
  });
  reader.on("ready", () => void arm());
  reader.on("close", () => lost("reader connection closed"));

  /** Reads a fresh key through the reader and changes it: resolves true once its invalidation is heard. */
  async function prove(): Promise<boolean> {
    proofs += 1;
    const key = `${options.keyPrefix}tracked-reads-proof:${instance}:${proofs}`;
    let timer: NodeJS.Timeout | undefined;
    const heard = new Promise<boolean>((resolve) => {
      awaited = { key, heard: () => resolve(true) };
      timer = setTimeout(() => resolve(false), proofTimeoutMs);
    });
    try {
      await reader.get(key);
      await reader.set(key, "1", "PX", 60_000);
      return await heard;
    } finally {
      clearTimeout(timer);
      awaited = undefined;
    }
  }

  /** Points the reader's tracking at the news connection and proves the path; enables copies if it holds. */
  async function arm(): Promise<void> {
    if (arming || closed || newsId === undefined || reader.status !== "ready") return;
    arming = true;
    const at = generation;
    try {
      await reader.call("CLIENT", "TRACKING", "ON", "REDIRECT", String(newsId));
      if (!(await prove())) {
        warnOnce("session read cache: no invalidation arrived for the proof; copies stay off", { proofTimeoutMs });
        return;
      }
      if (at !== generation || closed) return;
      cache.enable();
      lastWarning = undefined;
      logger.info("session read cache on: Redis reports every change to the sessions read here");
      for (const waiter of enabledWaiters) waiter();
      enabledWaiters.clear();
    } catch (error) {
      warnOnce("session read cache: arming failed; copies stay off", { err: errorOf(error) });
    } finally {
      arming = false;
    }
  }

  async function heartbeat(): Promise<void> {
    if (arming || closed) return;
    if (!cache.enabled) return arm();
    arming = true;
    const at = generation;
    try {
      const ok = await prove();
      if (!ok && at === generation) lost(`no invalidation within ${proofTimeoutMs} ms of a proof`);
    } catch (error) {
      if (at === generation) lost(`proof failed: ${errorOf(error).message}`);
    } finally {
      arming = false;
    }
  }
  const timer = setInterval(() => void heartbeat(), heartbeatMs);
  timer.unref();

  return {
    cache,
    async get(key) {
      const copy = cache.lookup(key);
      if (copy !== undefined) return copy;
      const ticket = cache.begin(key);
      if (!ticket) return reader.get(key);
      let value: string | null | undefined;
      let ttlMs: number | undefined;
      try {
        // One round trip; a change between the two is reported, and spoils the ticket.
        const replies = await reader.pipeline().get(key).pttl(key).exec();
        const [got, ttl] = replies ?? [];
        if (!got || got[0]) throw got?.[0] ?? new Error("Redis pipeline was discarded");
        value = got[1] as string | null;
        // -1: no expiry; -2: gone meanwhile (the change is reported too).
        if (ttl && !ttl[0] && typeof ttl[1] === "number" && ttl[1] !== -1) ttlMs = Math.max(0, ttl[1]);
        return value;
      } finally {
        cache.settle(ticket, value, ttlMs);
      }
    },
    changed(key) {
      cache.invalidate(key);
    },
    whenEnabled(timeoutMs) {
      if (cache.enabled) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(deadline);
          resolve();
        };
        const deadline = setTimeout(() => {
          enabledWaiters.delete(done);
          reject(new Error(`session read cache not enabled within ${timeoutMs} ms`));
        }, timeoutMs);
        enabledWaiters.add(done);
      });
    },
    async close() {
      closed = true;
      clearInterval(timer);
      cache.disable();
      await Promise.all([quit(reader), quit(news)]);
    },
  };
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

function errorOf(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
