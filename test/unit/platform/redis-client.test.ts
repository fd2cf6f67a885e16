import { Cluster, Redis } from "ioredis";
import { createRedisConnection } from "../../../src/platform/kv/redis-client";

// Each client is built lazily (no socket) towards a closed port: only its options are checked here
// (test/integration/kv/redis-cluster.test.ts and redis-sentinel.test.ts run real ones).
const quiet = (): void => undefined;

describe("createRedisConnection", () => {
  it("builds a Sentinel client that asks for the named master, with each password in its place", () => {
    const client = createRedisConnection(
      {
        mode: "sentinel",
        sentinels: [{ host: "127.0.0.1", port: 1 }, { host: "127.0.0.2", port: 1 }],
        masterName: "gh-master",
        username: "gatehouse",
        password: "master-secret",
        sentinelPassword: "sentinel-secret",
        tls: true,
      },
      { onError: quiet, commandTimeoutMs: 700, connectionName: "gatehouse", lazyConnect: true },
    );
    try {
      expect(client).toBeInstanceOf(Redis);
      expect(client.isCluster).toBe(false);
      expect((client as Redis).options).toMatchObject({
        sentinels: [{ host: "127.0.0.1", port: 1 }, { host: "127.0.0.2", port: 1 }],
        name: "gh-master",
        role: "master",
        username: "gatehouse",
        password: "master-secret",
        sentinelPassword: "sentinel-secret",
        tls: {},
        enableTLSForSentinelMode: true,
        sentinelTLS: {},
        commandTimeout: 700,
        sentinelCommandTimeout: 700,
        maxRetriesPerRequest: 1,
        connectionName: "gatehouse",
        // Follows a failover that leaves the old master up (test/integration/kv/redis-sentinel-failover.test.ts).
        failoverDetector: true,
      });
    } finally {
      client.disconnect();
    }
  });

  it("builds a Sentinel client without TLS when REDIS_TLS is off", () => {
    const client = createRedisConnection({ mode: "sentinel", sentinels: [{ host: "127.0.0.1", port: 1 }], masterName: "m", tls: false }, { onError: quiet, lazyConnect: true });
    try {
      const options = (client as Redis).options;
      expect(options.tls).toBeUndefined();
      expect(options.enableTLSForSentinelMode).toBeFalsy();
      expect(options.sentinelTLS).toBeUndefined();
    } finally {
      client.disconnect();
    }
  });

  it("builds a Cluster client from seed nodes, reading from masters only", () => {
    const client = createRedisConnection(
      { mode: "cluster", nodes: [{ host: "127.0.0.1", port: 1 }], password: "secret", tls: true },
      { onError: quiet, commandTimeoutMs: 700, lazyConnect: true },
    );
    try {
      expect(client).toBeInstanceOf(Cluster);
      expect(client.isCluster).toBe(true);
      const options = (client as Cluster).options;
      expect(options.scaleReads).toBe("master");
      expect(options.redisOptions).toMatchObject({ password: "secret", tls: {}, commandTimeout: 700 });
    } finally {
      client.disconnect();
    }
  });

  it("keeps one URL as one node", () => {
    const client = createRedisConnection({ mode: "single", url: "redis://127.0.0.1:1/2" }, { onError: quiet, lazyConnect: true });
    try {
      expect(client.isCluster).toBe(false);
      expect((client as Redis).options).toMatchObject({ host: "127.0.0.1", port: 1, db: 2, commandTimeout: 1_000 });
    } finally {
      client.disconnect();
    }
  });
});
