import type { ReadCacheStats } from "./read-cache";

/** One write of a batch (see KvStore.writeMany); each names exactly one key. */
export type KvWrite =
  | { op: "set"; key: string; value: string; ttlMs?: number }
  | { op: "del"; key: string }
  | { op: "expire"; key: string; ttlMs: number }
  | { op: "setAdd"; key: string; members: readonly string[] }
  | { op: "setRemove"; key: string; members: readonly string[] };

/**
 * The key-value store behind sessions, pending logins, replay caches and one-time tokens.
 * Two implementations honour one contract (test/integration/kv/kv-store.contract.ts):
 * Redis for production and the in-process store for the embedded default.
 * Keys are namespaced by the store's prefix; TTLs are in milliseconds.
 */
export interface KvStore {
  readonly kind: "redis" | "memory";
  get(key: string): Promise<string | null>;
  /**
   * As get(), but it may be answered from this process's copy, which is dropped as soon as the key changes
   * anywhere (Redis tracking; see tracked-reads.ts). Every change made through this store is seen by the
   * next call; a change made by another instance is seen once its news arrives, within milliseconds. For
   * hot reads only (the session checks).
   */
  getCached(key: string): Promise<string | null>;
  /** How getCached() has fared, where it keeps copies at all (for /metrics). */
  readCacheStats?(): ReadCacheStats | undefined;
  /** Returns false only when `onlyIfAbsent` is set and the key already exists. */
  set(key: string, value: string, options?: { ttlMs?: number; onlyIfAbsent?: boolean }): Promise<boolean>;
  /** Reads and deletes in one step: of two concurrent callers, exactly one gets the value. */
  getDel(key: string): Promise<string | null>;
  /** Returns how many of the keys existed. Several keys are not deleted atomically on a Redis Cluster. */
  del(...keys: string[]): Promise<number>;
  /** Increments an integer counter; `ttlMs` is applied when the key is created. */
  incr(key: string, ttlMs?: number): Promise<number>;
  /** Remaining time to live in ms; null when the key is missing or has no expiry. */
  ttl(key: string): Promise<number | null>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  setAdd(key: string, ...members: string[]): Promise<number>;
  setRemove(key: string, ...members: string[]): Promise<number>;
  setMembers(key: string): Promise<string[]>;
  /**
   * The members of several sets, in the order of `keys` (empty for a missing key), in one round trip
   * (concurrent commands on a Redis Cluster, whose keys live on several nodes).
   * Not atomic across keys: each set is read as setMembers() would read it.
   */
  setMembersMany(keys: readonly string[]): Promise<string[][]>;
  /**
   * Several writes sent together: one round trip on one Redis node, where they apply in order. Not atomic,
   * and on a Redis Cluster only writes to the same key keep their order (the others go to their nodes
   * concurrently). Rejects with the first failure after every write was tried. For writes whose relative
   * order matters across keys (crash safety), use two calls.
   */
  writeMany(writes: readonly KvWrite[]): Promise<void>;
  /**
   * Sets one top-level field of the JSON object stored at `key` to `value` (JSON-serialisable), keeping the
   * key's TTL, atomically and in one round trip. False when the key is missing; rejects when the stored
   * value is not a JSON object.
   */
  setJsonField(key: string, field: string, value: unknown): Promise<boolean>;
  /**
   * Stores `value` only when it is greater than the stored integer (or none is stored), atomically.
   * Returns true when it was stored. Used by replay guards (e.g. the last accepted TOTP step).
   */
  setIfGreater(key: string, value: number, ttlMs?: number): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
