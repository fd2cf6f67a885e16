/**
 * This process's copies of values read from Redis, for reads that may be answered without a round trip
 * (the session checks). A copy is only as good as the news of changes to it: Redis sends that news
 * (CLIENT TRACKING, see tracked-reads.ts), and this class is the bookkeeping, free of any connection.
 *
 * The race it guards against: a read is answered by Redis before a write, but the write's invalidation
 * reaches us before that read's reply (they come on different connections). Each read takes a ticket when
 * it is sent; an invalidation of its key meanwhile, or a clear, makes its reply unfit to keep.
 */
export type ReadCacheOptions = {
  /** At most this many copies; the oldest goes first. */
  maxEntries: number;
  /** A copy is not used once it is this old, news or no news: a bound on staleness if news stops silently. */
  maxAgeMs: number;
  now?: () => number;
};

/** at: when the read was sent, from which a copy's age counts. */
export type ReadTicket = { readonly key: string; readonly epoch: number; readonly seq: number; readonly at: number };

type Entry = { value: string; expiresAt: number };
/** The reads of one key in flight, and the sequence number of the last invalidation of that key. */
type Pending = { readers: number; invalidatedAt: number };

export type ReadCacheStats = { enabled: boolean; entries: number; hits: number; misses: number };

export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Pending>();
  private readonly now: () => number;
  /** Counts invalidations; a ticket remembers the count at its start. */
  private seq = 0;
  /** Moves on every clear: tickets of an earlier epoch are stale, whatever their key. */
  private epoch = 0;
  private on = false;
  hits = 0;
  misses = 0;

  constructor(private readonly options: ReadCacheOptions) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError("maxEntries must be a positive integer");
    if (!(options.maxAgeMs > 0)) throw new RangeError("maxAgeMs must be positive");
    this.now = options.now ?? Date.now;
  }

  /** Whether copies are kept and used: only while the news of changes is known to arrive. */
  get enabled(): boolean {
    return this.on;
  }

  get size(): number {
    return this.entries.size;
  }

  stats(): ReadCacheStats {
    return { enabled: this.on, entries: this.entries.size, hits: this.hits, misses: this.misses };
  }

  enable(): void {
    this.on = true;
  }

  /** Stops using copies and drops them all, with every read in flight. */
  disable(): void {
    this.on = false;
    this.clear();
  }

  /** The copy of `key`, if there is a fit one. */
  lookup(key: string): string | undefined {
    if (!this.on) return undefined;
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses += 1;
      return undefined;
    }
    if (this.now() >= entry.expiresAt) {
      this.entries.delete(key);
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    return entry.value;
  }

  /** Call just before sending a read of `key`; undefined while disabled (nothing will be kept). */
  begin(key: string): ReadTicket | undefined {
    if (!this.on) return undefined;
    const pending = this.pending.get(key);
    if (pending) pending.readers += 1;
    else this.pending.set(key, { readers: 1, invalidatedAt: 0 });
    return { key, epoch: this.epoch, seq: this.seq, at: this.now() };
  }

  /**
   * Call with the read's reply, or with undefined when it failed. The value is kept only if nothing
   * invalidated the key or cleared the cache since the ticket was taken. A missing key is not kept.
   * `ttlMs`: the key's remaining time to live as read with it; the copy ends with the key, counted from
   * when the read was sent (so never after it).
   */
  settle(ticket: ReadTicket, value: string | null | undefined, ttlMs?: number | null): void {
    const pending = this.pending.get(ticket.key);
    const fresh = this.on && ticket.epoch === this.epoch && (pending === undefined || pending.invalidatedAt <= ticket.seq);
    if (pending && ticket.epoch === this.epoch) {
      pending.readers -= 1;
      if (pending.readers <= 0) this.pending.delete(ticket.key);
    }
    if (!fresh || value === null || value === undefined) return;
    if (!this.entries.has(ticket.key) && this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    // Re-inserted, so the order of the map stays the order of storing (oldest first).
    this.entries.delete(ticket.key);
    const lifeMs = ttlMs !== undefined && ttlMs !== null && ttlMs >= 0 ? Math.min(ttlMs, this.options.maxAgeMs) : this.options.maxAgeMs;
    this.entries.set(ticket.key, { value, expiresAt: ticket.at + lifeMs });
  }

  /** The key changed (or may have): drop its copy, and spoil every read of it in flight. */
  invalidate(key: string): void {
    this.seq += 1;
    this.entries.delete(key);
    const pending = this.pending.get(key);
    if (pending) pending.invalidatedAt = this.seq;
  }

  /** Drops every copy and spoils every read in flight (Redis flushed, or the news may have been lost). */
  clear(): void {
    this.epoch += 1;
    this.entries.clear();
    this.pending.clear();
  }
}
