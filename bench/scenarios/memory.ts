import { setTimeout as sleep } from "node:timers/promises";
import { authzTarget, databaseUrlOf, gatehouseGroup, median, sampleResident, seedSignedInUser, sessionTarget, spawnBareAuthzServer, spawnChildGatehouse, type ChildServer } from "../lib/child-gatehouse";
import { checkTarget, combine, fire, spoiled, type Measurement, type Side } from "../lib/load";
import { benchRedisUrl } from "../lib/local-services";
import { figure, type ScenarioResult } from "../lib/report";
import type { BenchContext, LoadSettings, Scenario, Target } from "../lib/scenario";

const NAME = "memory";
const DEFAULT_DURATION = 10;
const SAMPLE_MS = 250;
/** After start-up and seeding, and again after the load: time for timers and GC to calm down. */
const SETTLE_MS = 3_000;
const IDLE_SAMPLING_MS = 2_000;
const BASELINE_KEY = "bench:memory-probe";

const bareTarget = (path: string): Target => ({ method: "GET", path, expectStatus: 200, check: () => undefined });

type Mix = { authz: Side; session: Side };
type Loaded = { samples: number[]; authz: Measurement; session: Measurement; requestsPerSecond: number };
type Sides = { idle: number[]; loaded: Loaded; idleAfter: number[] };

/** The mixed load: half the connections on the session check, half on the session JSON, as fast as they go. */
async function fireMix(mix: Mix, connections: number, seconds: number) {
  const authzConnections = Math.max(1, Math.ceil(connections / 2));
  const sessionConnections = Math.max(1, connections - authzConnections);
  return Promise.all([fire(mix.authz, { connections: authzConnections, seconds }), fire(mix.session, { connections: sessionConnections, seconds })]);
}

async function underLoad(server: ChildServer, mix: Mix, settings: LoadSettings, duration: number): Promise<Loaded> {
  if (settings.warmup > 0) await fireMix(mix, settings.connections, settings.warmup);
  const sampler = sampleResident(server.pid, SAMPLE_MS);
  const [authz, session] = await fireMix(mix, settings.connections, duration);
  const samples = sampler.stop();
  return { samples, authz: combine([authz]), session: combine([session]), requestsPerSecond: authz.requests / authz.seconds + session.requests / session.seconds };
}

async function idleSamples(servers: ChildServer[]): Promise<number[][]> {
  await sleep(SETTLE_MS);
  const samplers = servers.map((server) => sampleResident(server.pid, SAMPLE_MS));
  await sleep(IDLE_SAMPLING_MS);
  return samplers.map((sampler) => sampler.stop());
}

async function run(context: BenchContext, settings: LoadSettings): Promise<ScenarioResult> {
  const duration = settings.duration ?? DEFAULT_DURATION;
  const redisUrl = benchRedisUrl();
  const children: ChildServer[] = [];
  try {
    console.log(`${NAME}: starting Gatehouse (node dist/src/main.js) and bare Express + ioredis as child processes...`);
    const gatehouse = await spawnChildGatehouse(gatehouseGroup({ databaseUrl: databaseUrlOf(context), redisUrl, redisPrefix: context.redisPrefix }), "gatehouse child");
    children.push(gatehouse);
    const seeded = await seedSignedInUser(gatehouse, "memory");
    const key = `${context.redisPrefix}${BASELINE_KEY}`;
    await context.redis.set(key, seeded.userId);
    const bare = await spawnBareAuthzServer({ redisUrl, key });
    children.push(bare);
    const mixes: Record<"gatehouse" | "baseline", Mix> = {
      gatehouse: { authz: { baseUrl: gatehouse.url, target: authzTarget(seeded) }, session: { baseUrl: gatehouse.url, target: sessionTarget(seeded) } },
      baseline: { authz: { baseUrl: bare.url, target: bareTarget("/authz") }, session: { baseUrl: bare.url, target: bareTarget("/api/v1/session") } },
    };
    for (const mix of Object.values(mixes)) await Promise.all([checkTarget(mix.authz), checkTarget(mix.session)]);

    console.log(`${NAME}: idle RSS of both, then each under load (gatehouse, then baseline), then idle again...`);
    const [gatehouseIdle = [], bareIdle = []] = await idleSamples([gatehouse, bare]);
    const gatehouseLoaded = await underLoad(gatehouse, mixes.gatehouse, settings, duration);
    const bareLoaded = await underLoad(bare, mixes.baseline, settings, duration);
    const [gatehouseAfter = [], bareAfter = []] = await idleSamples([gatehouse, bare]);
    return result(settings, duration, {
      gatehouse: { idle: gatehouseIdle, loaded: gatehouseLoaded, idleAfter: gatehouseAfter },
      baseline: { idle: bareIdle, loaded: bareLoaded, idleAfter: bareAfter },
    });
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

function result(settings: LoadSettings, duration: number, m: Record<"gatehouse" | "baseline", Sides>): ScenarioResult {
  const { gatehouse: g, baseline: b } = m;
  const peak = (samples: number[]) => (samples.length > 0 ? Math.max(...samples) : Number.NaN);
  const problems = [
    spoiled("gatehouse /authz", g.loaded.authz), spoiled("gatehouse /api/v1/session", g.loaded.session),
    spoiled("baseline /authz", b.loaded.authz), spoiled("baseline /api/v1/session", b.loaded.session),
    g.loaded.samples.length === 0 || b.loaded.samples.length === 0 ? "no RSS sample under load" : undefined,
  ].filter((p) => p !== undefined);
  const outcome: ScenarioResult = {
    name: NAME,
    description: "resident memory (RSS) of Gatehouse as its own process (node dist/src/main.js) against bare Express + ioredis as its own process",
    method: `idle: median of ${SAMPLE_MS} ms samples over ${IDLE_SAMPLING_MS / 1000} s, ${SETTLE_MS / 1000} s after seeding; under load: ${settings.connections} connections `
      + `(half GET /authz, half GET /api/v1/session, as fast as they go), ${settings.warmup} s warm-up + ${duration} s sampled every ${SAMPLE_MS} ms, gatehouse then baseline; `
      + `idle again ${SETTLE_MS / 1000} s after the load`,
    figures: [
      figure("RSS MB idle", "lower", 1, median(g.idle), median(b.idle)),
      figure("RSS MB under load, median", "lower", 1, median(g.loaded.samples), median(b.loaded.samples)),
      figure("RSS MB under load, peak", "lower", 1, peak(g.loaded.samples), peak(b.loaded.samples)),
      figure("RSS MB idle after load", "lower", 1, median(g.idleAfter), median(b.idleAfter)),
      figure("req/s during the load", "higher", 0, g.loaded.requestsPerSecond, b.loaded.requestsPerSecond),
    ],
    notes: [
      "no goal: the issue sets none for RSS; the figures are for watching between runs",
      "the baseline loads Express and ioredis only (no pg, no ORM, no SAML/OIDC libraries, no templates): the ratio is",
      "  what everything else Gatehouse loads costs in memory, not a like-for-like server",
      "both servers get the same connections but not the same rate: each runs as fast as it can (see req/s)",
    ],
    details: { settings: { ...settings, duration, sampleMs: SAMPLE_MS }, gatehouse: g, baseline: b },
  };
  if (problems.length > 0) outcome.invalid = problems.join("; ");
  return outcome;
}

export const memory: Scenario = {
  name: NAME,
  description: "RSS idle and under load against bare Express + ioredis, both as child processes",
  budgetSeconds: (settings) => 2 * (settings.warmup + (settings.duration ?? DEFAULT_DURATION)) + 2 * (SETTLE_MS + IDLE_SAMPLING_MS) / 1000 + 40,
  run,
};
