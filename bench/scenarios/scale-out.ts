import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { authzTarget, databaseUrlOf, gatehouseGroup, seedSignedInUser, spawnChildGatehouse, type ChildGatehouse } from "../lib/child-gatehouse";
import { checkTarget, combine, fire, spoiled, type Measurement, type Run, type Side } from "../lib/load";
import { benchRedisUrl } from "../lib/local-services";
import { figure, type ScenarioResult } from "../lib/report";
import type { BenchContext, LoadSettings, Scenario } from "../lib/scenario";


const NAME = "two-instances";
const DEFAULT_DURATION = 8;
/** Between halves, so requests still in flight stay out of the next half. */
const PAUSE_MS = 500;

type Layout = "one" | "two";
type Measured = { throughput: number; latency: Measurement; perInstance: Record<string, number> };

/**
 * Two load generators of half the connections each, in both layouts: at one instance both aim at A,
 * at two instances one aims at A and one at B. The generator side is then the same in both.
 */
async function fireHalf(layout: Layout, a: Side, b: Side, connections: number, seconds: number): Promise<[Run, Run]> {
  const first = Math.max(1, Math.ceil(connections / 2));
  const second = Math.max(1, connections - first);
  return Promise.all([fire(a, { connections: first, seconds }), fire(layout === "one" ? a : b, { connections: second, seconds })]);
}

/** Requests of both generators over the half's length; percentiles as the request-weighted mean of the generators'. */
function summarise(halves: Array<[Run, Run]>, layout: Layout): Measured {
  const runs = halves.flat();
  const seconds = halves.reduce((total, [x, y]) => total + Math.max(x.seconds, y.seconds), 0);
  const requests = runs.reduce((total, run) => total + run.requests, 0);
  const perInstance: Record<string, number> = layout === "one"
    ? { A: requests / seconds }
    : { A: halves.reduce((t, [x]) => t + x.requests, 0) / seconds, B: halves.reduce((t, [, y]) => t + y.requests, 0) / seconds };
  return { throughput: requests / seconds, latency: combine(runs), perInstance };
}

async function run(context: BenchContext, settings: LoadSettings): Promise<ScenarioResult> {
  const duration = settings.duration ?? DEFAULT_DURATION;
  const instances: ChildGatehouse[] = [];
  try {
    console.log(`${NAME}: starting instances A and B (node dist/src/main.js, one database, one Redis prefix, one after the other)...`);
    const group = gatehouseGroup({ databaseUrl: databaseUrlOf(context), redisUrl: benchRedisUrl(), redisPrefix: context.redisPrefix });
    instances.push(await spawnChildGatehouse(group, "instance A"));
    instances.push(await spawnChildGatehouse(group, "instance B"));
    const [a, b] = instances as [ChildGatehouse, ChildGatehouse];
    // Signed in through A; B must honour the same cookie, or the two-instance figures would count 401s.
    const seeded = await seedSignedInUser(a, "scale");
    const target = authzTarget(seeded);
    const sides = { a: { baseUrl: a.url, target }, b: { baseUrl: b.url, target } };
    await checkTarget(sides.a);
    await checkTarget(sides.b);

    console.log(`${NAME}: GET /authz (warm-up on both, then one instance, two, two, one)...`);
    if (settings.warmup > 0) await fireHalf("two", sides.a, sides.b, settings.connections, settings.warmup);
    const halves: Record<Layout, Array<[Run, Run]>> = { one: [], two: [] };
    for (const layout of ["one", "two", "two", "one"] as const) {
      await sleep(PAUSE_MS);
      halves[layout].push(await fireHalf(layout, sides.a, sides.b, settings.connections, duration / 2));
    }
    return result(settings, duration, { one: summarise(halves.one, "one"), two: summarise(halves.two, "two") });
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
  }
}

function result(settings: LoadSettings, duration: number, m: Record<Layout, Measured>): ScenarioResult {
  const cpus = os.cpus().length;
  const problems = [spoiled("one instance", m.one.latency), spoiled("two instances", m.two.latency)].filter((p) => p !== undefined);
  const split = Object.entries(m.two.perInstance).map(([name, rate]) => `${name} ${Math.round(rate)}`).join(", ");
  const outcome: ScenarioResult = {
    name: NAME,
    description: "GET /authz with a session cookie against two Gatehouse processes sharing the database and Redis (gatehouse column) and against one (baseline column)",
    method: `${settings.connections} connections in total as two generators of half each (both at A, or one at A and one at B), `
      + `${settings.warmup} s warm-up + ${duration} s measured per layout (two halves, one two two one)`,
    figures: [
      figure("req/s", "higher", 0, m.two.throughput, m.one.throughput),
      figure("p50 ms", "lower", 1, m.two.latency.latencyP50Ms, m.one.latency.latencyP50Ms),
      figure("p99 ms", "lower", 1, m.two.latency.latencyP99Ms, m.one.latency.latencyP99Ms),
    ],
    notes: [
      `ratio = two instances / one. This machine has ${cpus} CPUs (os.cpus().length), shared by the load generator (two`,
      "  autocannon worker threads), both instances, Redis, PostgreSQL and the idle in-process bench servers: two instances",
      `  can only use the CPU time one leaves idle, so the ratio is bounded by the machine, not by Gatehouse (2.00x needs spare cores)`,
      `two instances, req/s per instance: ${split}. No goal: the issue sets none for this row`,
    ],
    details: { settings: { ...settings, duration }, cpus, one: m.one, two: m.two },
  };
  if (problems.length > 0) outcome.invalid = problems.join("; ");
  return outcome;
}

export const twoInstances: Scenario = {
  name: NAME,
  description: "one Gatehouse process against two sharing the database and Redis",
  budgetSeconds: (settings) => settings.warmup + 2 * (settings.duration ?? DEFAULT_DURATION) + 50,
  run,
};
