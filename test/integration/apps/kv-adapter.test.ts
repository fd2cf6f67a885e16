// oidc-provider's storage on the KvStore: one adapter, the same behaviour on Redis (production) and on the
// in-process store (embedded mode).
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { KvOidcAdapter } from "../../../src/apps/kv-adapter";
import type { KvStore } from "../../../src/platform/kv/kv-store";
import { MemoryKvStore } from "../../../src/platform/kv/memory-store";
import { createRedisClient, RedisKvStore } from "../../../src/platform/kv/redis-store";
import { redisUrl, testRedisPrefix } from "../../support/test-env";

let redis: Redis;
beforeAll(() => {
  redis = createRedisClient(redisUrl(), { onError: () => undefined });
});
afterAll(() => redis.quit());

const stores: [string, () => KvStore][] = [
  ["memory", () => new MemoryKvStore()],
  ["redis", () => new RedisKvStore(redis, `${testRedisPrefix()}oidc-adapter:${randomBytes(4).toString("hex")}:`)],
];

describe.each(stores)("KvOidcAdapter on the %s store", (_name, makeStore) => {
  let kv: KvStore;
  beforeEach(() => {
    kv = makeStore();
  });

  it("stores, finds and destroys a payload, with the TTL it was given (plus the clock tolerance)", async () => {
    const codes = new KvOidcAdapter(kv, "AuthorizationCode");
    await codes.upsert("c1", { accountId: "u1", grantId: "g1" }, 60);
    expect(await codes.find("c1")).toEqual({ accountId: "u1", grantId: "g1" });
    const ttl = await kv.ttl("oidc:AuthorizationCode:c1");
    expect(ttl).toBeGreaterThan(70_000);
    expect(ttl).toBeLessThanOrEqual(75_000);
    expect(await new KvOidcAdapter(kv, "AccessToken").find("c1")).toBeUndefined();
    await codes.destroy("c1");
    expect(await codes.find("c1")).toBeUndefined();
  });

  it("finds sessions by uid and device codes by user code", async () => {
    const sessions = new KvOidcAdapter(kv, "Session");
    await sessions.upsert("jti-1", { uid: "uid-1", accountId: "u1" }, 600);
    expect(await sessions.findByUid("uid-1")).toEqual({ uid: "uid-1", accountId: "u1" });
    expect(await sessions.findByUid("uid-2")).toBeUndefined();
    const devices = new KvOidcAdapter(kv, "DeviceCode");
    await devices.upsert("d1", { userCode: "ABCD-EFGH" }, 600);
    expect(await devices.findByUserCode("ABCD-EFGH")).toEqual({ userCode: "ABCD-EFGH" });
  });

  it("marks a payload consumed and keeps its remaining lifetime", async () => {
    const refresh = new KvOidcAdapter(kv, "RefreshToken");
    await refresh.upsert("r1", { grantId: "g2" }, 600);
    await refresh.consume("r1");
    expect((await refresh.find("r1"))?.consumed).toEqual(expect.any(Number));
    expect(await kv.ttl("oidc:RefreshToken:r1")).toBeGreaterThan(600_000);
    // With the payload's own expiry (what the provider stores), the remaining lifetime comes from it.
    await refresh.upsert("r2", { grantId: "g2", exp: Math.floor(Date.now() / 1000) + 100 }, 100);
    await refresh.consume("r2");
    expect((await refresh.find("r2"))?.consumed).toEqual(expect.any(Number));
    const ttl = await kv.ttl("oidc:RefreshToken:r2");
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(116_000);
    await refresh.consume("missing");
  });

  it("revokes every token of a grant, whatever its model, and nothing else", async () => {
    await new KvOidcAdapter(kv, "AccessToken").upsert("a1", { grantId: "g3" }, 600);
    await new KvOidcAdapter(kv, "RefreshToken").upsert("r3", { grantId: "g3" }, 600);
    await new KvOidcAdapter(kv, "AuthorizationCode").upsert("c3", { grantId: "g3" }, 60);
    await new KvOidcAdapter(kv, "AccessToken").upsert("a4", { grantId: "g4" }, 600);
    await new KvOidcAdapter(kv, "RefreshToken").revokeByGrantId("g3");
    for (const [model, id] of [["AccessToken", "a1"], ["RefreshToken", "r3"], ["AuthorizationCode", "c3"]]) {
      expect(await new KvOidcAdapter(kv, model!).find(id!)).toBeUndefined();
    }
    expect(await new KvOidcAdapter(kv, "AccessToken").find("a4")).toEqual({ grantId: "g4" });
  });

  it("treats a value that does not parse as absent", async () => {
    await kv.set("oidc:Grant:broken", "{not json");
    expect(await new KvOidcAdapter(kv, "Grant").find("broken")).toBeUndefined();
  });
});
