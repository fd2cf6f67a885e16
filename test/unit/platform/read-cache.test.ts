import { ReadCache } from "../../../src/platform/kv/read-cache";

function cacheAt(start = 1_000, options: { maxEntries?: number; maxAgeMs?: number } = {}) {
  const clock = { now: start };
  const cache = new ReadCache({ maxEntries: options.maxEntries ?? 10, maxAgeMs: options.maxAgeMs ?? 5_000, now: () => clock.now });
  cache.enable();
  return { cache, clock };
}

function read(cache: ReadCache, key: string, value: string | null): void {
  const ticket = cache.begin(key);
  if (!ticket) throw new Error("expected a ticket while enabled");
  cache.settle(ticket, value);
}

describe("ReadCache", () => {
  it("keeps a settled read and answers the next lookup from it", () => {
    const { cache } = cacheAt();
    expect(cache.lookup("session:a")).toBeUndefined();
    read(cache, "session:a", "{\"id\":\"a\"}");
    expect(cache.lookup("session:a")).toBe("{\"id\":\"a\"}");
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 1, misses: 1 });
  });

  it("does not keep a missing key, nor a failed read", () => {
    const { cache } = cacheAt();
    read(cache, "session:a", null);
    const ticket = cache.begin("session:b")!;
    cache.settle(ticket, undefined);
    expect(cache.size).toBe(0);
  });

  it("threat: stale session after revocation — a read answered before the revocation arrives after the revocation's invalidation and must not be kept", () => {
    // Attack: the session is revoked while a check's read is in flight; Redis answered the read first, but the
    // invalidation (on another connection) is processed before the reply. Keeping the reply would let the
    // revoked cookie pass every later check from the copy.
    const { cache } = cacheAt();
    const ticket = cache.begin("session:a")!;
    cache.invalidate("session:a");
    cache.settle(ticket, "{\"id\":\"a\"}");
    expect(cache.lookup("session:a")).toBeUndefined();
  });

  it("spoils only the reads of the invalidated key", () => {
    const { cache } = cacheAt();
    const a = cache.begin("session:a")!;
    const b = cache.begin("session:b")!;
    cache.invalidate("session:a");
    cache.settle(a, "A");
    cache.settle(b, "B");
    expect(cache.lookup("session:a")).toBeUndefined();
    expect(cache.lookup("session:b")).toBe("B");
  });

  it("keeps a read that began after the key's last invalidation", () => {
    const { cache } = cacheAt();
    const early = cache.begin("session:a")!;
    cache.invalidate("session:a");
    const late = cache.begin("session:a")!;
    cache.settle(early, "old");
    expect(cache.lookup("session:a")).toBeUndefined();
    cache.settle(late, "new");
    expect(cache.lookup("session:a")).toBe("new");
  });

  it("drops the copy of an invalidated key", () => {
    const { cache } = cacheAt();
    read(cache, "session:a", "A");
    cache.invalidate("session:a");
    expect(cache.lookup("session:a")).toBeUndefined();
  });

  it("threat: lost invalidations — after a clear (news channel lost or database flushed) no copy and no read in flight survives", () => {
    // Attack: invalidations were lost while the news connection was down; any copy or in-flight read from
    // before could hold a session revoked meanwhile.
    const { cache } = cacheAt();
    read(cache, "session:a", "A");
    const inFlight = cache.begin("session:b")!;
    cache.clear();
    cache.settle(inFlight, "B");
    expect(cache.lookup("session:a")).toBeUndefined();
    expect(cache.lookup("session:b")).toBeUndefined();
  });

  it("keeps and answers nothing while disabled, and drops everything on disable", () => {
    const { cache } = cacheAt();
    read(cache, "session:a", "A");
    const inFlight = cache.begin("session:b")!;
    cache.disable();
    expect(cache.begin("session:c")).toBeUndefined();
    cache.settle(inFlight, "B");
    cache.enable();
    expect(cache.lookup("session:a")).toBeUndefined();
    expect(cache.lookup("session:b")).toBeUndefined();
  });

  it("does not use a copy once it reaches maxAgeMs", () => {
    const { cache, clock } = cacheAt(1_000, { maxAgeMs: 5_000 });
    read(cache, "session:a", "A");
    clock.now += 4_999;
    expect(cache.lookup("session:a")).toBe("A");
    clock.now += 1;
    expect(cache.lookup("session:a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("ends a copy with the key's time to live, counted from when the read was sent", () => {
    const { cache, clock } = cacheAt(1_000, { maxAgeMs: 5_000 });
    const ticket = cache.begin("session:a")!;
    clock.now += 40;
    cache.settle(ticket, "A", 300);
    clock.now += 259;
    expect(cache.lookup("session:a")).toBe("A");
    clock.now += 1;
    expect(cache.lookup("session:a")).toBeUndefined();
  });

  it("holds at most maxEntries, dropping the one stored first", () => {
    const { cache } = cacheAt(1_000, { maxEntries: 2 });
    read(cache, "a", "1");
    read(cache, "b", "2");
    read(cache, "a", "1'");
    read(cache, "c", "3");
    expect(cache.size).toBe(2);
    expect(cache.lookup("b")).toBeUndefined();
    expect(cache.lookup("a")).toBe("1'");
    expect(cache.lookup("c")).toBe("3");
  });

  it("refuses options that would keep nothing or keep forever", () => {
    expect(() => new ReadCache({ maxEntries: 0, maxAgeMs: 1_000 })).toThrow(RangeError);
    expect(() => new ReadCache({ maxEntries: 10, maxAgeMs: 0 })).toThrow(RangeError);
  });
});
