import { AppError } from "../errors";
import type { KvStore, KvWrite } from "./kv-store";
import type { RedisConnection } from "./redis-client";
import type { ReadCacheStats } from "./read-cache";
import type { TrackedReads } from "./tracked-reads";

export { createRedisClient, type RedisClientOptions } from "./redis-client";

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

// Appends `"field":value` to the stored object's text rather than decoding it: Lua's cjson would turn empty
// arrays into objects. A field already present is shadowed (JSON.parse keeps the last of duplicate keys).
const SET_JSON_FIELD = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if string.sub(current, 1, 1) ~= '{' or string.sub(current, -1) ~= '}' then
  return redis.error_reply('ERR value is not a JSON object')
end
local body = string.sub(current, 2, -2)
local separator = ','
if string.match(body, '^%s*$') then separator = '' end
redis.call('SET', KEYS[1], '{' .. body .. separator .. ARGV[1] .. '}', 'KEEPTTL')
return 1
`;

interface ScriptCommands {
  gatehouseKvSetIfGreater(key: string, value: string, ttlMs: string): Promise<number>;
  gatehouseKvIncrWithTtl(key: string, ttlMs: string): Promise<number>;
  gatehouseKvSetJsonField(key: string, member: string): Promise<number>;
}

// Each script names its one key in KEYS and touches no other, so on a cluster it runs where that key lives.
function withScripts(redis: RedisConnection): RedisConnection & ScriptCommands {
  if (!("gatehouseKvSetIfGreater" in redis)) {
    redis.defineCommand("gatehouseKvSetIfGreater", { lua: SET_IF_GREATER, numberOfKeys: 1 });
    redis.defineCommand("gatehouseKvIncrWithTtl", { lua: INCR_WITH_TTL, numberOfKeys: 1 });
    redis.defineCommand("gatehouseKvSetJsonField", { lua: SET_JSON_FIELD, numberOfKeys: 1 });
  }
  // defineCommand adds the methods at runtime; ioredis cannot type them.
  return redis as RedisConnection & ScriptCommands;
}

function checkWriteTtl(write: KvWrite): void {
  if (write.op === "expire") assertTtl(write.ttlMs);
  else if (write.op === "set" && write.ttlMs !== undefined) assertTtl(write.ttlMs);
}

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`TTL must be a positive integer of ms, got ${ttlMs}`);
}

/**
 * The KvStore on one Redis node or a Redis Cluster. On a cluster, a multi-key command or a pipeline
 * must stay within one hash slot; the few calls that take several keys split the work per key there
 * (see del and setMembersMany), and every other call touches exactly one key.
 */
export class RedisKvStore implements KvStore {
  readonly kind = "redis" as const;
  private readonly redis: RedisConnection & ScriptCommands;
  private readonly ownsClient: boolean;
  private readonly tracked: TrackedReads | undefined;

  /** trackedReads: copies for getCached(), closed with the store; without it getCached() is get(). */
  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
    options: { ownsClient?: boolean; trackedReads?: TrackedReads } = {},
  ) {
    this.redis = withScripts(redis);
    this.ownsClient = options.ownsClient ?? false;
    this.tracked = options.trackedReads;
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.k(key));
  }

  readCacheStats(): ReadCacheStats | undefined {
    return this.tracked?.cache.stats();
  }

  async getCached(key: string): Promise<string | null> {
    const k = this.k(key);
    return this.tracked?.cache.enabled ? this.tracked.get(k) : this.redis.get(k);
  }

  /**
   * A write to prefixed keys. Their copies are dropped before it is sent and again once it is answered,
   * so a read that Redis answered before the write cannot leave its value behind for the next getCached().
   */
  private async changing<T>(keys: readonly string[], write: () => Promise<T>): Promise<T> {
    const tracked = this.tracked;
    if (!tracked) return write();
    for (const key of keys) tracked.changed(key);
    try {
      return await write();
    } finally {
      for (const key of keys) tracked.changed(key);
    }
  }

  async set(key: string, value: string, options: { ttlMs?: number; onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    const k = this.k(key);
    const { ttlMs, onlyIfAbsent } = options;
    if (ttlMs === undefined) {
      return (await this.changing([k], () => (onlyIfAbsent ? this.redis.set(k, value, "NX") : this.redis.set(k, value)))) === "OK";
    }
    assertTtl(ttlMs);
    const reply = await this.changing([k], () => (onlyIfAbsent ? this.redis.set(k, value, "PX", ttlMs, "NX") : this.redis.set(k, value, "PX", ttlMs)));
    return reply === "OK";
  }

  async getDel(key: string): Promise<string | null> {
    const k = this.k(key);
    return this.changing([k], () => this.redis.getdel(k));
  }

  async del(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const prefixed = keys.map((key) => this.k(key));
    return this.changing(prefixed, async () => {
      if (!this.redis.isCluster || prefixed.length === 1) return this.redis.del(...prefixed);
      // A cluster refuses DEL over keys in different slots (CROSSSLOT): one DEL per distinct key.
      // Not atomic across keys, which no caller needs; duplicates are dropped so each key counts once.
      const counts = await Promise.all([...new Set(prefixed)].map((key) => this.redis.del(key)));
      return counts.reduce((sum, n) => sum + n, 0);
    });
  }

  async incr(key: string, ttlMs?: number): Promise<number> {
    const k = this.k(key);
    if (ttlMs === undefined) return this.changing([k], () => this.redis.incr(k));
    assertTtl(ttlMs);
    return this.changing([k], () => this.redis.gatehouseKvIncrWithTtl(k, String(ttlMs)));
  }

  async ttl(key: string): Promise<number | null> {
    const ms = await this.redis.pttl(this.k(key));
    return ms < 0 ? null : ms;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    const k = this.k(key);
    return (await this.changing([k], () => this.redis.pexpire(k, ttlMs))) === 1;
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
    // A cluster pipeline must stay within one slot; separate commands in flight together cost about
    // the same one round trip per node. Promise.all fails on the first WRONGTYPE as the pipeline does.
    if (this.redis.isCluster) return Promise.all(keys.map((key) => this.redis.smembers(this.k(key))));
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

  async writeMany(writes: readonly KvWrite[]): Promise<void> {
    // A bad TTL is the caller's bug: refused before anything is sent.
    for (const write of writes) checkWriteTtl(write);
    const commands = writes.flatMap((write) => this.commandOf(write));
    if (commands.length === 0) return;
    await this.changing(commands.map(([, key]) => String(key)), () => this.sendWrites(commands));
  }

  private async sendWrites(commands: Array<[string, ...Array<string | number>]>): Promise<void> {
    if (this.redis.isCluster) {
      // A cluster pipeline must stay within one slot: each write goes on its own, all in flight together.
      // ioredis keeps the order of commands to one node, so writes to the same key keep theirs.
      const results = await Promise.allSettled(commands.map(([name, ...args]) => this.redis.call(name, ...args)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const [name, ...args] of commands) pipeline.call(name, ...args);
    const replies = await pipeline.exec();
    if (!replies) throw new Error("Redis pipeline was discarded");
    const error = replies.find(([failure]) => failure)?.[0];
    if (error) throw error;
  }

  /** The Redis command of one write; none for a set write without members (Redis refuses those). */
  private commandOf(write: KvWrite): Array<[string, ...Array<string | number>]> {
    const k = this.k(write.key);
    switch (write.op) {
      case "set":
        return [write.ttlMs === undefined ? ["set", k, write.value] : ["set", k, write.value, "PX", write.ttlMs]];
      case "del":
        return [["del", k]];
      case "expire":
        return [["pexpire", k, write.ttlMs]];
      case "setAdd":
        return write.members.length === 0 ? [] : [["sadd", k, ...write.members]];
      case "setRemove":
        return write.members.length === 0 ? [] : [["srem", k, ...write.members]];
    }
  }

  async setJsonField(key: string, field: string, value: unknown): Promise<boolean> {
    const member = `${JSON.stringify(field)}:${JSON.stringify(value)}`;
    const k = this.k(key);
    return (await this.changing([k], () => this.redis.gatehouseKvSetJsonField(k, member))) === 1;
  }

  async setIfGreater(key: string, value: number, ttlMs?: number): Promise<boolean> {
    if (!Number.isSafeInteger(value)) throw new RangeError(`setIfGreater needs an integer, got ${value}`);
    if (ttlMs !== undefined) assertTtl(ttlMs);
    const k = this.k(key);
    const stored = await this.changing([k], () => this.redis.gatehouseKvSetIfGreater(k, String(value), String(ttlMs ?? 0)));
    return stored === 1;
  }

  async ping(): Promise<void> {
    if (!this.redis.isCluster) {
      await this.redis.ping();
      return;
    }
    // One node answering PING says little about a cluster; its own view of every slot does.
    const info = await this.redis.cluster("INFO");
    if (!/^cluster_state:ok\s*$/m.test(info)) throw new AppError("service_unavailable", "Redis Cluster is not serving every slot");
  }

  async close(): Promise<void> {
    await this.tracked?.close();
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
