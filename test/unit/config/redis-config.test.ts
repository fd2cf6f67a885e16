import { loadConfig } from "../../../src/config/load";
import { problemsOf } from "../../support/config";

describe("Redis configuration", () => {
  it("keeps REDIS_URL as one node, and no Redis at all as the in-process store", () => {
    expect(loadConfig({ REDIS_URL: "rediss://u:p@cache.internal:6380" }).redis).toEqual({ mode: "single", url: "rediss://u:p@cache.internal:6380" });
    expect(loadConfig({}).redis).toBeUndefined();
  });

  it("keeps up to 10,000 session copies by default, and takes 0 (none) to 1,000,000", () => {
    expect(loadConfig({}).sessionReadCacheEntries).toBe(10_000);
    expect(loadConfig({ SESSION_READ_CACHE_ENTRIES: "0" }).sessionReadCacheEntries).toBe(0);
    for (const value of ["-1", "1000001", "1.5", "lots"]) {
      expect(problemsOf({ SESSION_READ_CACHE_ENTRIES: value }).some((p) => p.startsWith("SESSION_READ_CACHE_ENTRIES:"))).toBe(true);
    }
  });

  it("reads cluster seed nodes, with credentials and TLS from their own variables", () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: "10.0.0.1:7000, redis-b.internal:7001,[fd00::3]:7002",
      REDIS_USERNAME: "gatehouse",
      REDIS_PASSWORD: "s3cret",
      REDIS_TLS: "true",
    });
    expect(config.redis).toEqual({
      mode: "cluster",
      nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "redis-b.internal", port: 7001 }, { host: "fd00::3", port: 7002 }],
      username: "gatehouse",
      password: "s3cret",
      tls: true,
    });
  });

  it("reads sentinels and the master name", () => {
    const config = loadConfig({ REDIS_SENTINELS: "s1:26379,s2:26379", REDIS_SENTINEL_NAME: "gh-master", REDIS_SENTINEL_PASSWORD: "sp" });
    expect(config.redis).toEqual({
      mode: "sentinel",
      sentinels: [{ host: "s1", port: 26379 }, { host: "s2", port: 26379 }],
      masterName: "gh-master",
      sentinelPassword: "sp",
      tls: false,
    });
  });

  it.each([
    ["REDIS_CLUSTER_NODES", { REDIS_URL: "redis://one:6379", REDIS_CLUSTER_NODES: "a:7000" }],
    ["REDIS_SENTINELS", { REDIS_CLUSTER_NODES: "a:7000", REDIS_SENTINELS: "s:26379", REDIS_SENTINEL_NAME: "m" }],
    ["REDIS_SENTINEL_NAME", { REDIS_SENTINELS: "s:26379" }],
    ["REDIS_SENTINEL_NAME", { REDIS_CLUSTER_NODES: "a:7000", REDIS_SENTINEL_NAME: "m" }],
    ["REDIS_SENTINEL_PASSWORD", { REDIS_URL: "redis://one:6379", REDIS_SENTINEL_PASSWORD: "x" }],
    ["REDIS_PASSWORD", { REDIS_URL: "redis://one:6379", REDIS_PASSWORD: "x" }],
    ["REDIS_TLS", { REDIS_URL: "redis://one:6379", REDIS_TLS: "true" }],
    ["REDIS_TLS", { REDIS_CLUSTER_NODES: "a:7000", REDIS_TLS: "maybe" }],
    ["REDIS_CLUSTER_NODES", { REDIS_CLUSTER_NODES: "a:7000,b" }],
    ["REDIS_CLUSTER_NODES", { REDIS_CLUSTER_NODES: "a:0" }],
    ["REDIS_CLUSTER_NODES", { REDIS_CLUSTER_NODES: "a:70000" }],
    ["REDIS_CLUSTER_NODES", { REDIS_CLUSTER_NODES: " , " }],
    ["REDIS_SENTINELS", { REDIS_SENTINELS: "::1:26379", REDIS_SENTINEL_NAME: "m" }],
    ["REDIS_SENTINEL_NAME", { REDIS_SENTINELS: "s:26379", REDIS_SENTINEL_NAME: "no spaces" }],
  ])("a bad %s stops start-up with a message naming it", (variable, env) => {
    const problems = problemsOf(env);
    expect(problems.some((p) => p.startsWith(`${variable}:`))).toBe(true);
  });

  it("never repeats a node entry in its error: a URL pasted there by mistake may hold a password", () => {
    const problems = problemsOf({ REDIS_CLUSTER_NODES: "redis://gatehouse:hunter2-secret@cache:7000" });
    expect(problems.join("\n")).toMatch(/^REDIS_CLUSTER_NODES: entry 1 is not host:port/m);
    expect(problems.join("\n")).not.toContain("hunter2");
  });

  it("production accepts a cluster or sentinels in place of REDIS_URL, and still refuses none of them", () => {
    const production = {
      NODE_ENV: "production",
      PUBLIC_URL: "https://login.example.com",
      DATABASE_URL: "postgres://gh@db.internal/gatehouse",
      SMTP_URL: "smtp://mail.internal:25",
      SECRET_KEYS: `k1:${Buffer.alloc(32, 1).toString("base64")}`,
    };
    expect(problemsOf({ ...production, REDIS_CLUSTER_NODES: "a:7000,b:7000,c:7000" })).toEqual([]);
    expect(problemsOf({ ...production, REDIS_SENTINELS: "s1:26379", REDIS_SENTINEL_NAME: "m" })).toEqual([]);
    expect(problemsOf(production).filter((p) => p.startsWith("REDIS_URL:"))).toHaveLength(1);
  });
});
