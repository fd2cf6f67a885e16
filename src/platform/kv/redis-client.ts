import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { RedisAuth, RedisTarget } from "../../config/load";

/** One node (possibly found through Sentinel) or a Redis Cluster: both take the same commands. */
export type RedisConnection = Redis | Cluster;

export interface RedisClientOptions {
  /** Deadline for every command, including time spent queued while disconnected. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Upper bound of the reconnect backoff. */
  maxReconnectDelayMs?: number;
  connectionName?: string;
  /** Connection errors; without a listener ioredis prints them to the console itself. */
  onError?: (error: Error) => void;
  /** Connect at the first command instead of at once (tests that only inspect the options). */
  lazyConnect?: boolean;
  /** RESP version (ioredis defaults to 3); a connection that hears invalidations as pub/sub messages needs 2. */
  protocol?: 2 | 3;
  /** Subscribe again to the same channels after a reconnect (ioredis's default). */
  autoResubscribe?: boolean;
}

/** Options every connection to a Redis node shares, whatever the mode. */
function nodeOptions(options: RedisClientOptions): Pick<RedisOptions, "commandTimeout" | "connectTimeout" | "disconnectTimeout" | "connectionName" | "lazyConnect"> {
  return {
    lazyConnect: options.lazyConnect ?? false,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    connectTimeout: options.connectTimeoutMs ?? 1_000,
    // disconnect() arms this timer even when the socket is already gone; keep shutdown short.
    disconnectTimeout: 500,
    connectionName: options.connectionName,
  };
}

function backoff(options: RedisClientOptions): (attempt: number) => number {
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  return (attempt) => Math.min(50 * 2 ** attempt, maxDelay);
}

function authOptions(auth: RedisAuth): Pick<RedisOptions, "username" | "password" | "tls"> {
  return { username: auth.username, password: auth.password, ...(auth.tls ? { tls: {} } : {}) };
}

/**
 * A client that fails closed: while Redis is unreachable each command rejects after
 * `commandTimeoutMs` instead of waiting for the connection, and the client keeps
 * reconnecting in the background with a capped backoff.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const redis = new Redis(url, {
    ...nodeOptions(options),
    // While disconnected, queued commands are failed every second reconnect attempt rather than replayed much later.
    maxRetriesPerRequest: 1,
    retryStrategy: backoff(options),
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
    ...(options.autoResubscribe === undefined ? {} : { autoResubscribe: options.autoResubscribe }),
  });
  if (options.onError) redis.on("error", options.onError);
  return redis;
}

/** The master that the sentinels name, found again by asking them after a failover. Fails closed like createRedisClient. */
export function createRedisSentinelClient(target: Extract<RedisTarget, { mode: "sentinel" }>, options: RedisClientOptions = {}): Redis {
  const common = nodeOptions(options);
  const redis = new Redis({
    ...common,
    ...authOptions(target),
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.masterName,
    role: "master",
    sentinelPassword: target.sentinelPassword,
    sentinelCommandTimeout: common.commandTimeout,
    ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    maxRetriesPerRequest: 1,
    retryStrategy: backoff(options),
    // A demoted master answers writes with READONLY while our socket stays open: reconnect (asking
    // the sentinels again) and resend, since the write was refused, not applied.
    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 2 : false),
    // A failover that leaves the old master running (SENTINEL FAILOVER, a partition) does not close our
    // socket, and the sentinels demote that master only seconds later (8 s and more in the test): writes
    // meanwhile land there and are discarded when it resyncs as a replica. Subscribing to the sentinels'
    // +switch-master makes the client drop the old master as soon as the sentinels switch.
    failoverDetector: true,
  });
  if (options.onError) redis.on("error", options.onError);
  // quit() ends the client without disconnecting its connector, whose failover-detector subscriptions
  // to the sentinels would stay open (and keep the process alive); disconnect() releases them.
  redis.on("end", () => redis.disconnect());
  return redis;
}

/**
 * ioredis applies `commandTimeout` only once a command reaches a node; while the whole cluster is
 * unreachable commands wait in the cluster's own queue with no deadline. Starting the clock when the
 * command is issued makes a cluster fail closed like a single node (the timer is set once per command).
 */
class FailClosedCluster extends Cluster {
  override sendCommand(...args: Parameters<Cluster["sendCommand"]>): unknown {
    const timeoutMs = this.options.redisOptions?.commandTimeout;
    if (timeoutMs !== undefined) args[0].setTimeout(timeoutMs);
    return super.sendCommand(...args);
  }
}

/** A Redis Cluster from its seed nodes; the client learns the slot map and follows MOVED/ASK. */
export function createRedisClusterClient(target: Extract<RedisTarget, { mode: "cluster" }>, options: RedisClientOptions = {}): Cluster {
  const cluster = new FailClosedCluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: options.lazyConnect ?? false,
      clusterRetryStrategy: backoff(options),
      slotsRefreshTimeout: options.connectTimeoutMs ?? 1_000,
      // Reads go to masters: a replica may lag and still hold a session that was just revoked.
      scaleReads: "master",
      redisOptions: { ...nodeOptions(options), ...authOptions(target) },
    },
  );
  if (options.onError) {
    cluster.on("error", options.onError);
    cluster.on("node error", options.onError);
  }
  return cluster;
}

export function createRedisConnection(target: RedisTarget, options: RedisClientOptions = {}): RedisConnection {
  switch (target.mode) {
    case "single":
      return createRedisClient(target.url, options);
    case "sentinel":
      return createRedisSentinelClient(target, options);
    case "cluster":
      return createRedisClusterClient(target, options);
  }
}
