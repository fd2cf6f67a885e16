// On a Redis Cluster a command over keys of two hash slots is refused (CROSSSLOT), and so is a pipeline
// spanning two nodes: every store that Gatehouse keeps in Redis must work with its keys spread over masters.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster, Redis } from "ioredis";
import supertest from "supertest";
import { ManualClock } from "../../../src/platform/clock";
import { createRedisClusterClient } from "../../../src/platform/kv/redis-client";
import { RedisKvStore } from "../../../src/platform/kv/redis-store";
import { createAuthThrottle } from "../../../src/platform/throttle/throttle";
import { createSessionStore } from "../../../src/sessions/session.store";
import { acceptAssertionOnce } from "../../../src/sso/saml/assertion-replay";
import { SsoRefused } from "../../../src/sso/sso-errors";
import { createSsoFlowStore } from "../../../src/sso/sso-flow.store";
import { startTestApp } from "../../support/harness";
import { CookieBrowser, createTenant, createUser, PASSWORD, signInSkippingMfa } from "../../support/login-helpers";
import { startRedisCluster, type LocalRedisCluster } from "../../support/redis-cluster";
import { describeSessionStoreContract } from "../sessions/session-store.contract";
import { describeAuthThrottleContract, login } from "../throttle/auth-throttle.contract";
import { describeKvStoreContract } from "./kv-store.contract";

const quiet = (): void => undefined;
const START = new Date("2026-03-01T09:00:00Z");

let cluster: LocalRedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  client = createRedisClusterClient({ mode: "cluster", nodes: cluster.nodes.slice(0, 1), tls: false }, { onError: quiet });
  await client.ping();
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

// No hash tag: keys under one prefix hash by their whole name, over every slot.
function randomPrefix(label: string): string {
  return `gh-test:${label}:${randomBytes(6).toString("hex")}:`;
}

function nodeName(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/** The keys under `prefix`, per master: SCAN only sees the node it is sent to. */
async function keysPerMaster(prefix: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const node of client.nodes("master")) {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    found.set(nodeName(node), keys);
  }
  return found;
}

async function keysUnder(prefix: string): Promise<string[]> {
  return [...(await keysPerMaster(prefix)).values()].flat();
}

async function deleteUnder(prefix: string): Promise<void> {
  // One key per command: a multi-key UNLINK would itself be cross-slot.
  await Promise.all((await keysUnder(prefix)).map((key) => client.unlink(key)));
}

async function dump(prefix: string): Promise<string> {
  const lines: string[] = [];
  for (const key of await keysUnder(prefix)) {
    const type = await client.type(key);
    lines.push(`${key} ${type === "set" ? (await client.smembers(key)).join(",") : await client.get(key)}`);
  }
  return lines.join("\n");
}

describe("a local three-master Redis Cluster", () => {
  it("starts in a few seconds and serves every slot from three masters", async () => {
    expect(cluster.startupMs).toBeLessThan(15_000);
    expect(client.nodes("master")).toHaveLength(3);
    expect(await new RedisKvStore(client, "").ping()).toBeUndefined();
  });

  it("refuses a multi-key DEL and a pipeline over two nodes, which is why the store splits them", async () => {
    const prefix = randomPrefix("crossslot");
    const kv = new RedisKvStore(client, prefix);
    const names = Array.from({ length: 12 }, (_, i) => `set-${i}`);
    for (const name of names) await kv.setAdd(name, name);
    const perMaster = [...(await keysPerMaster(prefix)).values()].filter((keys) => keys.length > 0);
    expect(perMaster.length).toBeGreaterThan(1);
    const [onOne, onOther] = [perMaster[0]![0]!, perMaster[1]![0]!];

    await expect(client.del(onOne, onOther)).rejects.toThrow(/CROSSSLOT/);
    const pipeline = client.pipeline();
    pipeline.smembers(onOne).smembers(onOther);
    await expect(pipeline.exec()).rejects.toThrow(/same slot/);

    const [one, other] = [onOne.slice(prefix.length), onOther.slice(prefix.length)];
    expect(await kv.setMembersMany([one, "missing", other])).toEqual([[one], [], [other]]);
    expect(await kv.del(one, other, one, "missing")).toBe(2);
    expect(await kv.del(...names)).toBe(names.length - 2);
    expect(await keysUnder(prefix)).toEqual([]);
  });
});

describeKvStoreContract("redis cluster", async () => {
  const prefix = randomPrefix("kv");
  return {
    store: new RedisKvStore(client, prefix),
    advanceTime: (ms) => sleep(ms),
    cleanup: () => deleteUnder(prefix),
  };
});

describeSessionStoreContract("redis cluster", async () => {
  const prefix = randomPrefix("sessions");
  return {
    kv: new RedisKvStore(client, prefix),
    clock: new ManualClock(START),
    dump: () => dump(prefix),
    cleanup: () => deleteUnder(prefix),
  };
});

describeAuthThrottleContract("redis cluster", async () => {
  const keyPrefix = randomPrefix("throttle");
  return {
    create: (policy) => createAuthThrottle({ backend: { kind: "redis", client, keyPrefix }, policy }),
    cleanup: () => deleteUnder(keyPrefix),
  };
});

describe("keys really spread over the cluster", () => {
  it("sessions of many users land on every master and can all be revoked in one call", async () => {
    const prefix = randomPrefix("spread");
    const store = createSessionStore({ kv: new RedisKvStore(client, prefix), clock: new ManualClock(START) });
    const users = Array.from({ length: 10 }, (_, i) => `user-${i}`);
    const created = [];
    for (const userId of users) {
      for (let i = 0; i < 3; i++) {
        created.push(await store.create({
          userId, tenantId: `tenant-${i}`, method: "password", assurance: "aal1", amr: ["pwd"],
          ip: "203.0.113.7", userAgent: "jest", idleTimeoutMs: 60_000, absoluteTimeoutMs: 3_600_000,
        }));
      }
    }
    const counts = [...(await keysPerMaster(prefix)).values()].map((keys) => keys.length);
    // 30 sessions, 30 pointers, 10 user and 3 tenant indexes.
    expect(counts.reduce((a, b) => a + b, 0)).toBe(73);
    expect(counts.filter((n) => n > 0)).toHaveLength(3);

    // A rotation campaign's batch: index sets of ten users read at once, across slots.
    expect(await store.revokeAllForUsers(users)).toBe(30);
    for (const { token } of created) expect(await store.findByToken(token)).toBeNull();
    await deleteUnder(prefix);
  });

  it("throttle counters of one attacker land on more than one master", async () => {
    const keyPrefix = randomPrefix("throttle-spread");
    const throttle = createAuthThrottle({ backend: { kind: "redis", client, keyPrefix } });
    for (let i = 0; i < 20; i++) await throttle.recordFailure(login(`tenant-1:user${i}@example.com`, "192.0.2.10"));
    const counts = [...(await keysPerMaster(keyPrefix)).values()].map((keys) => keys.length);
    expect(counts.filter((n) => n > 0).length).toBeGreaterThan(1);
    await deleteUnder(keyPrefix);
  });
});

// The SAML replay caches are KvStore set(onlyIfAbsent) and getDel on one key each: the KV contract
// above covers them; these check the callers themselves on the cluster.
describe("SAML replay caches on the cluster", () => {
  it("accepts an assertion ID once per connection", async () => {
    const kv = new RedisKvStore(client, randomPrefix("replay"));
    const input = { connectionId: "conn-1", assertionId: `_${randomBytes(8).toString("hex")}`, refusedAfter: Date.now() + 60_000, now: Date.now() };
    await acceptAssertionOnce(kv, input);
    await expect(acceptAssertionOnce(kv, input)).rejects.toBeInstanceOf(SsoRefused);
    await acceptAssertionOnce(kv, { ...input, connectionId: "conn-2" });
  });

  it("answers an InResponseTo once, for its tenant only", async () => {
    const flows = createSsoFlowStore({ kv: new RedisKvStore(client, randomPrefix("flows")) });
    await flows.begin({ tenantId: "t1", connectionId: "c1", returnTo: "/", samlRequestId: "_req-1", createdAt: Date.now() });
    expect(await flows.takeBySamlRequest("t2", "_req-1")).toBeNull();
    expect(await flows.takeBySamlRequest("t1", "_req-1")).toMatchObject({ connectionId: "c1" });
    expect(await flows.takeBySamlRequest("t1", "_req-1")).toBeNull();
  });
});

describe("Gatehouse configured with REDIS_CLUSTER_NODES", () => {
  it("signs in, checks and ends a session with every key on the cluster", async () => {
    const prefix = randomPrefix("app");
    // The harness sets REDIS_URL for the shared Redis; undefined removes it (one Redis mode at a time).
    const env = { REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(","), REDIS_KEY_PREFIX: prefix };
    const t = await startTestApp(env as unknown as Record<string, string>);
    try {
      const slug = await createTenant(t, { mfaRequired: false });
      await createUser(t, slug, { email: "alice@example.com" });
      const browser = new CookieBrowser(t.app);
      await signInSkippingMfa(browser, { tenant: slug, email: "alice@example.com", password: PASSWORD });
      const cookie = `gh_session=${browser.cookies.get("gh_session")}`;
      expect((await supertest(t.app).get("/authz").set("Cookie", cookie)).status).toBe(200);
      expect((await supertest(t.app).get("/readyz")).status).toBe(200);
      expect((await keysUnder(prefix)).length).toBeGreaterThan(0);
      expect((await browser.post("/logout", {})).status).toBe(303);
      expect((await supertest(t.app).get("/authz").set("Cookie", cookie)).status).toBe(401);
    } finally {
      await t.close();
      await deleteUnder(prefix);
    }
  });
});

describe("a cluster client fails closed", () => {
  it("rejects quickly instead of queueing forever when no seed node answers", async () => {
    const unreachable = createRedisClusterClient({ mode: "cluster", nodes: [{ host: "127.0.0.1", port: 1 }], tls: false }, { onError: quiet, maxReconnectDelayMs: 50 });
    const kv = new RedisKvStore(unreachable, "gh-test:", { ownsClient: true });
    const started = Date.now();
    await expect(kv.get("anything")).rejects.toThrow(/timed out/);
    await expect(kv.ping()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_500);
    await kv.close();
  });

  // Last: it leaves the cluster with one master down.
  it("rejects commands for the slots of a stopped master, and readiness fails", async () => {
    const prefix = randomPrefix("down");
    const kv = new RedisKvStore(client, prefix);
    const victim = cluster.nodes[2]!;
    const onVictim = await nameServedBy(prefix, `${victim.host}:${victim.port}`);
    await kv.set(onVictim, "v", { ttlMs: 60_000 });
    await cluster.stopNode(victim.port);

    const started = Date.now();
    await expect(kv.get(onVictim)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_500);
    await eventually(() => expect(kv.ping()).rejects.toThrow(), 8_000);
  });
});

/** A key name that, under `prefix`, hashes to a slot served by `node` (host:port). */
async function nameServedBy(prefix: string, node: string): Promise<string> {
  for (let i = 0; i < 1_000; i++) {
    const slot = await client.cluster("KEYSLOT", `${prefix}probe-${i}`);
    if (client.slots[Number(slot)]?.[0] === node) return `probe-${i}`;
  }
  throw new Error(`no key found for ${node}`);
}

async function eventually(check: () => Promise<unknown>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}
