import type { KvStore } from "../../../src/platform/kv/kv-store";

export interface KvStoreHarness {
  store: KvStore;
  /** Moves the store's time forward: the injected clock for memory, a real sleep for Redis. */
  advanceTime(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

const CONCURRENCY = 20;

function times<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
}

/**
 * The behaviour every KvStore must share. Each call of `make` gives a fresh, empty store; for a
 * shared backend (Redis) under its own prefix, so two of them also show prefix isolation.
 */
export function describeKvStoreContract(name: string, make: () => Promise<KvStoreHarness>): void {
  describe(`KvStore contract: ${name}`, () => {
    let harness: KvStoreHarness;
    let store: KvStore;
    const advance = (ms: number): Promise<void> => harness.advanceTime(ms);

    beforeEach(async () => {
      harness = await make();
      store = harness.store;
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it("reports its kind and answers ping", async () => {
      expect(["redis", "memory"]).toContain(store.kind);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe("set / get", () => {
      it("stores, overwrites and reads strings; missing keys are null", async () => {
        expect(await store.get("missing")).toBeNull();
        expect(await store.set("a", "one")).toBe(true);
        expect(await store.get("a")).toBe("one");
        expect(await store.set("a", "two")).toBe(true);
        expect(await store.get("a")).toBe("two");
      });

      it("onlyIfAbsent refuses an existing key and keeps its value", async () => {
        expect(await store.set("a", "first", { onlyIfAbsent: true })).toBe(true);
        expect(await store.set("a", "second", { onlyIfAbsent: true })).toBe(false);
        expect(await store.get("a")).toBe("first");
      });

      it("onlyIfAbsent succeeds again once the key has expired", async () => {
        expect(await store.set("a", "first", { onlyIfAbsent: true, ttlMs: 100 })).toBe(true);
        expect(await store.set("a", "second", { onlyIfAbsent: true, ttlMs: 100 })).toBe(false);
        await advance(150);
        expect(await store.set("a", "third", { onlyIfAbsent: true })).toBe(true);
        expect(await store.get("a")).toBe("third");
      });

      it("onlyIfAbsent under concurrency lets exactly one writer in", async () => {
        const results = await times(CONCURRENCY, (i) => store.set("lock", `w${i}`, { onlyIfAbsent: true, ttlMs: 5_000 }));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it("rejects a TTL that is not a positive integer", async () => {
        await expect(store.set("a", "v", { ttlMs: 0 })).rejects.toThrow(RangeError);
        await expect(store.set("a", "v", { ttlMs: 1.5 })).rejects.toThrow(RangeError);
        expect(await store.get("a")).toBeNull();
      });
    });

    describe("expiry", () => {
      it("a key with a TTL is readable until it expires, then behaves as absent", async () => {
        await store.set("a", "v", { ttlMs: 100 });
        expect(await store.get("a")).toBe("v");
        await advance(150);
        expect(await store.get("a")).toBeNull();
        expect(await store.ttl("a")).toBeNull();
        expect(await store.getDel("a")).toBeNull();
        expect(await store.del("a")).toBe(0);
      });

      it("ttl() gives the remaining ms, and null for missing keys or keys without expiry", async () => {
        await store.set("timed", "v", { ttlMs: 1_000 });
        await store.set("forever", "v");
        const remaining = await store.ttl("timed");
        expect(remaining).toBeGreaterThan(800);
        expect(remaining).toBeLessThanOrEqual(1_000);
        expect(await store.ttl("forever")).toBeNull();
        expect(await store.ttl("missing")).toBeNull();
      });

      it("a plain set replaces the value and drops the old expiry", async () => {
        await store.set("a", "v1", { ttlMs: 100 });
        await store.set("a", "v2");
        await advance(150);
        expect(await store.get("a")).toBe("v2");
        expect(await store.ttl("a")).toBeNull();
      });

      it("expire() sets or replaces the TTL of an existing key only", async () => {
        expect(await store.expire("missing", 1_000)).toBe(false);
        await store.set("a", "v", { ttlMs: 100 });
        expect(await store.expire("a", 1_000)).toBe(true);
        await advance(150);
        expect(await store.get("a")).toBe("v");
        expect(await store.expire("a", 100)).toBe(true);
        await advance(150);
        expect(await store.get("a")).toBeNull();
      });

      it("expire() rejects a TTL that is not a positive integer", async () => {
        await store.set("a", "v");
        await expect(store.expire("a", 0)).rejects.toThrow(RangeError);
        expect(await store.get("a")).toBe("v");
      });
    });

    describe("getCached", () => {
      // Each change is made after a copy could exist (two reads), and must be seen by the very next read.
      const cachedTwice = async (key: string): Promise<string | null> => {
        await store.getCached(key);
        return store.getCached(key);
      };

      it("reads what get reads, missing keys included", async () => {
        expect(await cachedTwice("missing")).toBeNull();
        await store.set("a", "one");
        expect(await cachedTwice("a")).toBe("one");
      });

      it("sees every change made through the store at the next read", async () => {
        await store.set("a", "one");
        expect(await cachedTwice("a")).toBe("one");
        await store.set("a", "two");
        expect(await store.getCached("a")).toBe("two");
        await store.writeMany([{ op: "set", key: "a", value: "three" }]);
        expect(await cachedTwice("a")).toBe("three");
        await store.del("a");
        expect(await store.getCached("a")).toBeNull();
        await store.set("a", "{\"x\":1}");
        expect(await cachedTwice("a")).toBe("{\"x\":1}");
        await store.setJsonField("a", "y", 2);
        expect(JSON.parse((await store.getCached("a"))!)).toEqual({ x: 1, y: 2 });
        await store.getDel("a");
        expect(await store.getCached("a")).toBeNull();
        await store.incr("n");
        expect(await cachedTwice("n")).toBe("1");
        await store.incr("n");
        expect(await store.getCached("n")).toBe("2");
        await store.writeMany([{ op: "del", key: "n" }]);
        expect(await store.getCached("n")).toBeNull();
      });

      it("does not outlive the key's time to live", async () => {
        await store.set("a", "short", { ttlMs: 100 });
        expect(await cachedTwice("a")).toBe("short");
        await advance(150);
        expect(await store.getCached("a")).toBeNull();
      });

      it("sees an expiry set after the copy was made", async () => {
        await store.set("a", "v");
        expect(await cachedTwice("a")).toBe("v");
        await store.expire("a", 100);
        await advance(150);
        expect(await store.getCached("a")).toBeNull();
      });
    });

    describe("getDel", () => {
      it("returns the value once, then null", async () => {
        await store.set("token", "secret");
        expect(await store.getDel("token")).toBe("secret");
        expect(await store.getDel("token")).toBeNull();
        expect(await store.get("token")).toBeNull();
        expect(await store.getDel("missing")).toBeNull();
      });

      it(`gives the value to exactly one of ${CONCURRENCY} concurrent callers`, async () => {
        await store.set("token", "secret", { ttlMs: 5_000 });
        const results = await times(CONCURRENCY, () => store.getDel("token"));
        expect(results.filter((r) => r !== null)).toEqual(["secret"]);
      });
    });

    describe("del", () => {
      it("counts only the keys that existed, of any type", async () => {
        await store.set("a", "1");
        await store.set("b", "2");
        await store.setAdd("s", "x");
        expect(await store.del("a", "b", "s", "missing")).toBe(3);
        expect(await store.get("a")).toBeNull();
        expect(await store.setMembers("s")).toEqual([]);
        expect(await store.del()).toBe(0);
        expect(await store.del("a")).toBe(0);
      });
    });

    describe("incr", () => {
      it("counts up from zero", async () => {
        expect(await store.incr("n")).toBe(1);
        expect(await store.incr("n")).toBe(2);
        expect(await store.get("n")).toBe("2");
        expect(await store.ttl("n")).toBeNull();
      });

      it("applies the TTL only when it creates the counter", async () => {
        expect(await store.incr("n", 400)).toBe(1);
        await advance(200);
        expect(await store.incr("n", 400)).toBe(2);
        const remaining = await store.ttl("n");
        expect(remaining).toBeGreaterThan(0);
        expect(remaining).toBeLessThanOrEqual(250);
        await advance(250);
        expect(await store.get("n")).toBeNull();
        expect(await store.incr("n", 400)).toBe(1);
        expect(await store.ttl("n")).toBeGreaterThan(300);
      });

      it("leaves an existing key's expiry (or lack of one) alone", async () => {
        await store.set("plain", "5");
        expect(await store.incr("plain", 1_000)).toBe(6);
        expect(await store.ttl("plain")).toBeNull();
        await store.set("timed", "5", { ttlMs: 1_000 });
        expect(await store.incr("timed")).toBe(6);
        expect(await store.ttl("timed")).toBeGreaterThan(0);
      });

      it(`hands out distinct values to ${CONCURRENCY} concurrent callers`, async () => {
        const results = await times(CONCURRENCY, () => store.incr("n", 5_000));
        expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: CONCURRENCY }, (_, i) => i + 1));
        expect(await store.ttl("n")).toBeGreaterThan(0);
      });

      it("rejects a value that is not an integer", async () => {
        await store.set("text", "abc");
        await expect(store.incr("text")).rejects.toThrow(/not an integer/);
        expect(await store.get("text")).toBe("abc");
      });
    });

    describe("setIfGreater", () => {
      it("stores only strictly greater values", async () => {
        expect(await store.setIfGreater("step", 5)).toBe(true);
        expect(await store.get("step")).toBe("5");
        expect(await store.setIfGreater("step", 7)).toBe(true);
        expect(await store.setIfGreater("step", 7)).toBe(false);
        expect(await store.setIfGreater("step", 3)).toBe(false);
        expect(await store.get("step")).toBe("7");
      });

      it("handles zero and negative values", async () => {
        expect(await store.setIfGreater("step", -3)).toBe(true);
        expect(await store.setIfGreater("step", 0)).toBe(true);
        expect(await store.setIfGreater("step", -1)).toBe(false);
        expect(await store.get("step")).toBe("0");
      });

      it(`accepts the same value for exactly one of ${CONCURRENCY} concurrent callers`, async () => {
        const results = await times(CONCURRENCY, () => store.setIfGreater("step", 42, 5_000));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.get("step")).toBe("42");
      });

      it("ends at the maximum when different values race", async () => {
        const values = Array.from({ length: CONCURRENCY }, (_, i) => (i * 7) % CONCURRENCY);
        await times(CONCURRENCY, (i) => store.setIfGreater("step", values[i] ?? 0));
        expect(await store.get("step")).toBe(String(CONCURRENCY - 1));
      });

      it("sets the TTL with the value, and an expired value no longer blocks", async () => {
        expect(await store.setIfGreater("step", 10, 100)).toBe(true);
        expect(await store.ttl("step")).toBeGreaterThan(0);
        await advance(150);
        expect(await store.setIfGreater("step", 1)).toBe(true);
        expect(await store.get("step")).toBe("1");
      });

      it("rejects a non-integer argument and a non-integer stored value", async () => {
        await expect(store.setIfGreater("step", 1.5)).rejects.toThrow(RangeError);
        await store.set("text", "abc");
        await expect(store.setIfGreater("text", 1)).rejects.toThrow(/not an integer/);
        expect(await store.get("text")).toBe("abc");
      });
    });

    describe("sets", () => {
      it("adds, lists and removes members, counting only real changes", async () => {
        expect(await store.setMembers("s")).toEqual([]);
        expect(await store.setAdd("s", "a", "b", "a")).toBe(2);
        expect(await store.setAdd("s", "b", "c")).toBe(1);
        expect((await store.setMembers("s")).sort()).toEqual(["a", "b", "c"]);
        expect(await store.setRemove("s", "a", "zz")).toBe(1);
        expect((await store.setMembers("s")).sort()).toEqual(["b", "c"]);
        expect(await store.setRemove("missing", "a")).toBe(0);
      });

      it("an emptied set no longer exists", async () => {
        await store.setAdd("s", "a", "b");
        await store.expire("s", 5_000);
        expect(await store.setRemove("s", "a", "b")).toBe(2);
        expect(await store.ttl("s")).toBeNull();
        expect(await store.del("s")).toBe(0);
        expect(await store.get("s")).toBeNull();
      });

      it("expires like any other key", async () => {
        await store.setAdd("s", "a");
        expect(await store.expire("s", 100)).toBe(true);
        await advance(150);
        expect(await store.setMembers("s")).toEqual([]);
        expect(await store.setAdd("s", "b")).toBe(1);
        expect(await store.ttl("s")).toBeNull();
      });

      it("setMembersMany reads several sets in one call, in the order asked, empty for missing keys", async () => {
        expect(await store.setMembersMany([])).toEqual([]);
        await store.setAdd("s1", "a", "b");
        await store.setAdd("s2", "c");
        await store.setAdd("expiring", "x");
        await store.expire("expiring", 100);
        await advance(150);
        const lists = await store.setMembersMany(["s2", "missing", "s1", "expiring", "s2"]);
        expect(lists.map((members) => [...members].sort())).toEqual([["c"], [], ["a", "b"], [], ["c"]]);
      });

      it("setMembersMany fails with WRONGTYPE when one key holds a string", async () => {
        await store.setAdd("s1", "a");
        await store.set("str", "v");
        await expect(store.setMembersMany(["s1", "str"])).rejects.toThrow(/WRONGTYPE/);
      });

      it("keeps strings and sets apart (WRONGTYPE), while set() overwrites any type", async () => {
        await store.set("str", "v");
        await expect(store.setAdd("str", "a")).rejects.toThrow(/WRONGTYPE/);
        await expect(store.setMembers("str")).rejects.toThrow(/WRONGTYPE/);
        await store.setAdd("set", "a");
        await expect(store.get("set")).rejects.toThrow(/WRONGTYPE/);
        await expect(store.getDel("set")).rejects.toThrow(/WRONGTYPE/);
        await expect(store.incr("set")).rejects.toThrow(/WRONGTYPE/);
        await expect(store.setIfGreater("set", 1)).rejects.toThrow(/WRONGTYPE/);
        expect(await store.setMembers("set")).toEqual(["a"]);
        expect(await store.set("set", "now a string")).toBe(true);
        expect(await store.get("set")).toBe("now a string");
      });
    });

    describe("setJsonField", () => {
      it("sets one field of a stored object, keeping the others and the TTL", async () => {
        await store.set("obj", JSON.stringify({ a: 1, list: [], nested: { b: "x" } }), { ttlMs: 400 });
        expect(await store.setJsonField("obj", "consumed", 1700000000)).toBe(true);
        expect(JSON.parse((await store.get("obj"))!)).toEqual({ a: 1, list: [], nested: { b: "x" }, consumed: 1700000000 });
        expect(await store.setJsonField("obj", "a", "two")).toBe(true);
        expect(JSON.parse((await store.get("obj"))!)).toMatchObject({ a: "two", consumed: 1700000000 });
        expect(await store.ttl("obj")).toBeGreaterThan(200);
        await advance(500);
        expect(await store.get("obj")).toBeNull();
      });

      it("works on an empty object and answers false for a missing key", async () => {
        await store.set("empty", "{}");
        expect(await store.setJsonField("empty", "k", [1, "two"])).toBe(true);
        expect(JSON.parse((await store.get("empty"))!)).toEqual({ k: [1, "two"] });
        expect(await store.setJsonField("missing", "k", 1)).toBe(false);
        expect(await store.get("missing")).toBeNull();
      });

      it("refuses a value that is not a JSON object and leaves it as it was", async () => {
        await store.set("text", "plain");
        await expect(store.setJsonField("text", "k", 1)).rejects.toThrow(/not a JSON object/);
        expect(await store.get("text")).toBe("plain");
      });
    });

    describe("writeMany", () => {
      it("applies every kind of write, in order for each key", async () => {
        await store.set("old", "x");
        await store.setAdd("members", "gone");
        await store.writeMany([
          { op: "set", key: "a", value: "1" },
          { op: "set", key: "a", value: "2", ttlMs: 400 },
          { op: "setAdd", key: "members", members: ["m1", "m2"] },
          { op: "setRemove", key: "members", members: ["gone"] },
          { op: "expire", key: "members", ttlMs: 400 },
          { op: "del", key: "old" },
          { op: "setAdd", key: "untouched", members: [] },
        ]);
        expect(await store.get("a")).toBe("2");
        expect(await store.ttl("a")).toBeGreaterThan(200);
        expect((await store.setMembers("members")).sort()).toEqual(["m1", "m2"]);
        expect(await store.ttl("members")).toBeGreaterThan(200);
        expect(await store.get("old")).toBeNull();
        expect(await store.setMembers("untouched")).toEqual([]);
        await advance(500);
        expect(await store.get("a")).toBeNull();
        expect(await store.setMembers("members")).toEqual([]);
      });

      it("an empty batch does nothing", async () => {
        await expect(store.writeMany([])).resolves.toBeUndefined();
      });

      it("refuses a bad TTL before writing anything", async () => {
        await expect(store.writeMany([{ op: "set", key: "a", value: "1" }, { op: "expire", key: "a", ttlMs: 0 }])).rejects.toThrow(RangeError);
        expect(await store.get("a")).toBeNull();
      });

      it("tries every write and then rejects with the first failure (WRONGTYPE)", async () => {
        await store.set("str", "v");
        await expect(
          store.writeMany([
            { op: "setAdd", key: "str", members: ["a"] },
            { op: "set", key: "after", value: "written" },
          ]),
        ).rejects.toThrow(/WRONGTYPE/);
        expect(await store.get("after")).toBe("written");
        expect(await store.get("str")).toBe("v");
      });
    });

    describe("prefix isolation", () => {
      it("two stores with different prefixes do not see each other's keys", async () => {
        const other = await make();
        try {
          await store.set("shared", "mine");
          expect(await other.store.get("shared")).toBeNull();
          await other.store.set("shared", "theirs");
          await other.store.setAdd("members", "x");
          expect(await store.get("shared")).toBe("mine");
          expect(await store.setMembers("members")).toEqual([]);
          expect(await other.store.del("shared")).toBe(1);
          expect(await store.get("shared")).toBe("mine");
        } finally {
          await other.cleanup();
        }
      });
    });
  });
}
