// Load benchmark: each scenario against Gatehouse and against a bare Express server doing the same reads,
// in the same run, on this machine's PostgreSQL and Redis. Usage: npm run bench -- --help
import { startBaselineServer, type BaselineServer } from "./lib/baseline-server";
import { migrateBenchDatabase, startBenchGatehouse, type BenchGatehouse } from "./lib/gatehouse";
import { checkTarget, measurePair, type LoadSettings } from "./lib/load";
import { benchRedisUrl, createThrowawayDatabase, deleteRedisPrefix, uniqueRedisPrefix, type ThrowawayDatabase } from "./lib/local-services";
import { parseBenchOptions } from "./lib/options";
import { compare, formatTable, machineDescription, writeLatest, type ScenarioResult } from "./lib/report";
import type { Scenario } from "./lib/scenario";
import { scenarios as allScenarios } from "./scenarios";

type Running = { database?: ThrowawayDatabase; gatehouse?: BenchGatehouse; baseline?: BaselineServer; redisPrefix: string; redisUrl: string };

async function main(): Promise<number> {
  const options = parseBenchOptions(process.argv.slice(2));
  const scenarios = allScenarios.filter((s) => !options.only || s.name.includes(options.only));
  if (scenarios.length === 0) throw new Error(`no scenario matches "${options.only}"`);
  const settings: LoadSettings = { connections: options.connections, duration: options.duration, warmup: options.warmup };

  const running: Running = { redisPrefix: uniqueRedisPrefix(), redisUrl: benchRedisUrl() };
  armWatchdog(scenarios.length, settings, running);
  process.once("SIGINT", () => void cleanUp(running).finally(() => process.exit(130)));
  process.once("uncaughtException", (error) => {
    console.error(`bench failed: ${error.stack ?? error.message}`);
    void cleanUp(running).finally(() => process.exit(1));
  });

  try {
    await startServers(running);
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) results.push(await runScenario(scenario, running, settings));
    const machine = machineDescription();
    console.log(`\n${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}; ${settings.connections} connections, ${settings.warmup} s warm-up + ${settings.duration} s measured per server (two halves, A B B A)\n`);
    console.log(formatTable(results));
    console.log(`\nwritten to ${writeLatest(results, settings)}`);
    return results.some((r) => r.invalid) ? 1 : 0;
  } finally {
    await cleanUp(running);
  }
}

async function startServers(running: Running): Promise<void> {
  running.database = await createThrowawayDatabase();
  console.log(`database ${running.database.name}, Redis prefix ${running.redisPrefix}`);
  await migrateBenchDatabase(running.database.url);
  running.gatehouse = await startBenchGatehouse({ databaseUrl: running.database.url, redisUrl: running.redisUrl, redisPrefix: running.redisPrefix });
  // Same pool size as Gatehouse, so neither side wins by holding more connections.
  running.baseline = await startBaselineServer({ databaseUrl: running.database.url, redisUrl: running.redisUrl, poolMax: running.gatehouse.poolMax });
}

async function runScenario(scenario: Scenario, running: Running, settings: LoadSettings): Promise<ScenarioResult> {
  const { gatehouse, baseline } = running;
  if (!gatehouse || !baseline) throw new Error("servers not started");
  const state = await scenario.setup({
    gatehouseUrl: gatehouse.url,
    adminToken: gatehouse.adminToken,
    redisPrefix: running.redisPrefix,
    pg: baseline.pg,
    redis: baseline.redis,
    baselineRoutes: baseline.routes,
  });
  const gatehouseSide = { baseUrl: gatehouse.url, target: scenario.gatehouseTarget(state) };
  const baselineSide = { baseUrl: baseline.url, target: scenario.baselineTarget(state) };
  await checkTarget(gatehouseSide);
  await checkTarget(baselineSide);

  console.log(`${scenario.name}: measuring (warm-up, then gatehouse, baseline, baseline, gatehouse)...`);
  const figures = await measurePair(gatehouseSide, baselineSide, settings);
  return compare(scenario.name, scenario.description, figures.gatehouse, figures.baseline, scenario.goal);
}

/** Servers first (their pools hold connections to the database), then the database and the Redis keys. */
async function cleanUp(running: Running): Promise<void> {
  const steps: Array<[string, (() => Promise<void>) | undefined]> = [
    ["stopping Gatehouse", running.gatehouse?.stop],
    ["stopping the baseline server", running.baseline?.close],
    ["dropping the database", running.database?.drop],
    ["deleting Redis keys", () => deleteRedisPrefix(running.redisUrl, running.redisPrefix)],
  ];
  running.gatehouse = undefined;
  running.baseline = undefined;
  running.database = undefined;
  for (const [what, step] of steps) {
    if (!step) continue;
    await step().catch((error: unknown) => console.error(`bench clean-up: ${what} failed: ${String(error)}`));
  }
}

/** The bench stops by itself even if a server hangs: after twice its planned time plus a minute. */
function armWatchdog(scenarioCount: number, settings: LoadSettings, running: Running): void {
  const plannedMs = scenarioCount * 2 * (settings.warmup + settings.duration) * 1000;
  setTimeout(() => {
    console.error("bench: took too long, giving up");
    void cleanUp(running).finally(() => process.exit(2));
  }, 2 * plannedMs + 60_000).unref();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exit(1);
  },
);
