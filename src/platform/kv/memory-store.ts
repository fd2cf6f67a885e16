import type { KvStore, KvWrite } from "./kv-store";

type Entry =
  | { type: "string"; value: string; expiresAt: number | null }
  | { type: "set"; members: Set<string>; expiresAt: number | null };

export interface MemoryKvStoreOptions {
  prefix?: string;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
  /** How often expired keys are purged; lazy expiry alone would keep unread keys forever. */
  sweepIntervalMs?: number;
}

// Same messages as Redis so callers and tests see one behaviour.
const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INTEGER = "ERR value is not an integer or out of range";

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`TTL must be a positive integer of ms, got ${ttlMs}`);
}

function parseInteger(value: string): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(NOT_INTEGER);
  return n;
}

/**
 * The in-process store for the embedded default (one process on one machine). Every method
 * runs synchronously inside its promise, so each one is atomic like a Redis command.
 */
export class MemoryKvStore implements KvStore {
  readonly kind = "memory" as const;
  private readonly entries = new Map<string, Entry>();
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;

  constructor(options: MemoryKvStoreOptions = {}) {
    this.prefix = options.prefix ?? "";
    this.now = options.now ?? Date.now;
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweepTimer.unref();
  }

  async get(key: string): Promise<string | null> {
    return this.readString(key)?.value ?? null;
  }

  /** The store is this process's memory already: nothing to copy. */
  getCached(key: string): Promise<string | null> {
    return this.get(key);
  }

  async set(key: string, value: string, options: { ttlMs?: number; onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    if (options.ttlMs !== undefined) assertTtl(options.ttlMs);
    if (options.onlyIfAbsent && this.read(key)) return false;
    this.write(key, { type: "string", value, expiresAt: this.expiry(options.ttlMs) });
    return true;
  }

  async getDel(key: string): Promise<string | null> {
    const entry = this.readString(key);
    if (!entry) return null;
    this.entries.delete(this.k(key));
    return entry.value;
  }

  async del(...keys: string[]): Promise<number> {
    let removed = 0;
    for (const key of new Set(keys)) {
      if (this.read(key)) {
        this.entries.delete(this.k(key));
        removed += 1;
      }
    }
    return removed;
  }

  async incr(key: string, ttlMs?: number): Promise<number> {
    if (ttlMs !== undefined) assertTtl(ttlMs);
    const entry = this.readString(key);
    const next = (entry ? parseInteger(entry.value) : 0) + 1;
    if (!Number.isSafeInteger(next)) throw new Error(NOT_INTEGER);
    // An existing counter keeps its expiry; only a new one gets `ttlMs`.
    const expiresAt = entry ? entry.expiresAt : this.expiry(ttlMs);
    this.write(key, { type: "string", value: String(next), expiresAt });
    return next;
  }

  async ttl(key: string): Promise<number | null> {
    const expiresAt = this.read(key)?.expiresAt ?? null;
    return expiresAt === null ? null : expiresAt - this.now();
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    const entry = this.read(key);
    if (!entry) return false;
    entry.expiresAt = this.expiry(ttlMs);
    return true;
  }

  async setAdd(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    const existing = this.readSet(key);
    const set = existing ?? { type: "set" as const, members: new Set<string>(), expiresAt: null };
    const before = set.members.size;
    for (const member of members) set.members.add(member);
    if (!existing) this.write(key, set);
    return set.members.size - before;
  }

  async setRemove(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    const set = this.readSet(key);
    if (!set) return 0;
    const before = set.members.size;
    for (const member of members) set.members.delete(member);
    // Like Redis, an emptied set no longer exists.
    if (set.members.size === 0) this.entries.delete(this.k(key));
    return before - set.members.size;
  }

  async setMembers(key: string): Promise<string[]> {
    return [...(this.readSet(key)?.members ?? [])];
  }

  async setMembersMany(keys: readonly string[]): Promise<string[][]> {
    return keys.map((key) => [...(this.readSet(key)?.members ?? [])]);
  }

  async writeMany(writes: readonly KvWrite[]): Promise<void> {
    // A bad TTL is the caller's bug: refused before anything is written, as the Redis store does.
    for (const write of writes) {
      if (write.op === "expire") assertTtl(write.ttlMs);
      else if (write.op === "set" && write.ttlMs !== undefined) assertTtl(write.ttlMs);
    }
    let failure: unknown;
    for (const write of writes) {
      // Like Redis: every write is tried, and the first failure is reported at the end.
      try {
        await this.apply(write);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  private apply(write: KvWrite): Promise<unknown> {
    switch (write.op) {
      case "set":
        return this.set(write.key, write.value, write.ttlMs === undefined ? {} : { ttlMs: write.ttlMs });
      case "del":
        return this.del(write.key);
      case "expire":
        return this.expire(write.key, write.ttlMs);
      case "setAdd":
        return this.setAdd(write.key, ...write.members);
      case "setRemove":
        return this.setRemove(write.key, ...write.members);
    }
  }

  async setJsonField(key: string, field: string, value: unknown): Promise<boolean> {
    const entry = this.readString(key);
    if (!entry) return false;
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry.value);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("ERR value is not a JSON object");
    entry.value = JSON.stringify({ ...parsed, [field]: value });
    return true;
  }

  async setIfGreater(key: string, value: number, ttlMs?: number): Promise<boolean> {
    if (!Number.isSafeInteger(value)) throw new RangeError(`setIfGreater needs an integer, got ${value}`);
    if (ttlMs !== undefined) assertTtl(ttlMs);
    const entry = this.readString(key);
    if (entry && parseInteger(entry.value) >= value) return false;
    this.write(key, { type: "string", value: String(value), expiresAt: this.expiry(ttlMs) });
    return true;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.entries.clear();
    this.closed = true;
  }

  /** Drops every expired entry; returns how many. Runs on the sweep timer. */
  sweep(): number {
    const now = this.now();
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) {
        this.entries.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  /** The live entry, or undefined when missing or expired (expired ones are dropped on the way). */
  private read(key: string): Entry | undefined {
    this.assertOpen();
    const k = this.k(key);
    const entry = this.entries.get(k);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return entry;
  }

  private readString(key: string): Extract<Entry, { type: "string" }> | undefined {
    const entry = this.read(key);
    if (entry && entry.type !== "string") throw new Error(WRONGTYPE);
    return entry;
  }

  private readSet(key: string): Extract<Entry, { type: "set" }> | undefined {
    const entry = this.read(key);
    if (entry && entry.type !== "set") throw new Error(WRONGTYPE);
    return entry;
  }

  private write(key: string, entry: Entry): void {
    this.assertOpen();
    this.entries.set(this.k(key), entry);
  }

  private expiry(ttlMs: number | undefined): number | null {
    return ttlMs === undefined ? null : this.now() + ttlMs;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("kv store is closed");
  }

  private k(key: string): string {
    return this.prefix + key;
  }
}
