import { Redis } from "ioredis";
import type { KvStore } from "./kv-store";

export interface RedisClientOptions {
  /** Deadline for every command, including time spent queued while disconnected. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Upper bound of the reconnect backoff. */
  maxReconnectDelayMs?: number;
  connectionName?: string;
  /** Connection errors; without a listener ioredis prints them to the console itself. */
  onError?: (error: Error) => void;
}

/**
 * A client that fails closed: while Redis is unreachable each command rejects after
 * `commandTimeoutMs` instead of waiting for the connection, and the client keeps
 * reconnecting in the background with a capped backoff.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const redis = new Redis(url, {
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    connectTimeout: options.connectTimeoutMs ?? 1_000,
    // While disconnected, queued commands are failed every second reconnect attempt rather than replayed much later.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, maxDelay),
    // disconnect() arms this timer even when the socket is already gone; keep shutdown short.
    disconnectTimeout: 500,
    connectionName: options.connectionName,
  });
  if (options.onError) redis.on("error", options.onError);
  return redis;
}

// Returns 1 when stored. A non-numeric stored value is an error rather than silently replaced.
const SET_IF_GREATER = `
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(current)
  if not stored then return redis.error_reply('ERR value is not an integer or out of range') end
  if stored >= tonumber(ARGV[1]) then return 0 end
end
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`;

// The TTL goes on only when this call created the key (EXISTS, not "result is 1": a key set to "0" exists).
const INCR_WITH_TTL = `
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCR', KEYS[1])
if existed == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return value
`;

interface ScriptCommands {
  gatehouseKvSetIfGreater(key: string, value: string, ttlMs: string): Promise<number>;
  gatehouseKvIncrWithTtl(key: string, ttlMs: string): Promise<number>;
}

function withScripts(redis: Redis): Redis & ScriptCommands {
  if (!("gatehouseKvSetIfGreater" in redis)) {
    redis.defineCommand("gatehouseKvSetIfGreater", { lua: SET_IF_GREATER, numberOfKeys: 1 });
    redis.defineCommand("gatehouseKvIncrWithTtl", { lua: INCR_WITH_TTL, numberOfKeys: 1 });
  }
  // defineCommand adds the methods at runtime; ioredis cannot type them.
  return redis as Redis & ScriptCommands;
}

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`TTL must be a positive integer of ms, got ${ttlMs}`);
}

export class RedisKvStore implements KvStore {
  readonly kind = "redis" as const;
  private readonly redis: Redis & ScriptCommands;
  private readonly ownsClient: boolean;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    options: { ownsClient?: boolean } = {},
  ) {
    this.redis = withScripts(redis);
    this.ownsClient = options.ownsClient ?? false;
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.k(key));
  }

  async set(key: string, value: string, options: { ttlMs?: number; onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    const k = this.k(key);
    const { ttlMs, onlyIfAbsent } = options;
    if (ttlMs === undefined) {
      return (await (onlyIfAbsent ? this.redis.set(k, value, "NX") : this.redis.set(k, value))) === "OK";
    }
    assertTtl(ttlMs);
    const reply = onlyIfAbsent ? await this.redis.set(k, value, "PX", ttlMs, "NX") : await this.redis.set(k, value, "PX", ttlMs);
    return reply === "OK";
  }

  async getDel(key: string): Promise<string | null> {
    return this.redis.getdel(this.k(key));
  }

  async del(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.redis.del(...keys.map((key) => this.k(key)));
  }

  async incr(key: string, ttlMs?: number): Promise<number> {
    if (ttlMs === undefined) return this.redis.incr(this.k(key));
    assertTtl(ttlMs);
    return this.redis.gatehouseKvIncrWithTtl(this.k(key), String(ttlMs));
  }

  async ttl(key: string): Promise<number | null> {
    const ms = await this.redis.pttl(this.k(key));
    return ms < 0 ? null : ms;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    return (await this.redis.pexpire(this.k(key), ttlMs)) === 1;
  }

  async setAdd(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.redis.sadd(this.k(key), ...members);
  }

  async setRemove(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.redis.srem(this.k(key), ...members);
  }

  async setMembers(key: string): Promise<string[]> {
    return this.redis.smembers(this.k(key));
  }

  async setMembersMany(keys: readonly string[]): Promise<string[][]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.smembers(this.k(key));
    const replies = await pipeline.exec();
    if (!replies) throw new Error("Redis pipeline was discarded");
    return replies.map(([error, members]) => {
      // One failed command (WRONGTYPE) fails the whole read, as a single setMembers() would.
      if (error) throw error;
      return members as string[];
    });
  }

  async setIfGreater(key: string, value: number, ttlMs?: number): Promise<boolean> {
    if (!Number.isSafeInteger(value)) throw new RangeError(`setIfGreater needs an integer, got ${value}`);
    if (ttlMs !== undefined) assertTtl(ttlMs);
    const stored = await this.redis.gatehouseKvSetIfGreater(this.k(key), String(value), String(ttlMs ?? 0));
    return stored === 1;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (!this.ownsClient || this.redis.status === "end") return;
    try {
      await this.redis.quit();
    } catch {
      // Redis unreachable: QUIT cannot be delivered, so drop the socket instead.
      this.redis.disconnect();
    }
  }

  private k(key: string): string {
    return this.prefix + key;
  }
}
