// Benchmarks: each scenario against Gatehouse and against a baseline doing the same work by hand, in the
// same run, on this machine's PostgreSQL and Redis. Usage: npm run bench -- --help
import { startBaselineServer, type BaselineServer } from "./lib/baseline-server";
import { stopChildServers } from "./lib/child-gatehouse";
import { migrateBenchDatabase, startBenchGatehouse, type BenchGatehouse } from "./lib/gatehouse";
import { benchRedisUrl, createThrowawayDatabase, deleteRedisPrefix, uniqueRedisPrefix, type ThrowawayDatabase } from "./lib/local-services";
import { parseBenchOptions } from "./lib/options";
import { formatTable, machineDescription, writeLatest, type ScenarioResult } from "./lib/report";
import type { BenchContext, LoadSettings, Scenario } from "./lib/scenario";
import { runSoak, soakBudgetSeconds, writeLatestSoak } from "./lib/soak";
import { scenarios as allScenarios } from "./scenarios";

type Running = { database?: ThrowawayDatabase; gatehouse?: BenchGatehouse; baseline?: BaselineServer; redisPrefix: string; redisUrl: string; cleaning?: Promise<void> };

async function main(): Promise<number> {
  const options = parseBenchOptions(process.argv.slice(2));
  const scenarios = allScenarios.filter((s) => !options.only || s.name.includes(options.only));
  if (scenarios.length === 0) throw new Error(`no scenario matches "${options.only}"`);
  const settings: LoadSettings = { connections: options.connections, duration: options.duration, warmup: options.warmup };

  const running: Running = { redisPrefix: uniqueRedisPrefix(), redisUrl: benchRedisUrl() };
  const plannedSeconds = options.soakMinutes === undefined ? scenarios.reduce((total, s) => total + s.budgetSeconds(settings), 0) : soakBudgetSeconds(options.soakMinutes);
  armWatchdog(plannedSeconds, running);
  process.once("SIGINT", () => void cleanUp(running).finally(() => process.exit(130)));
  process.once("uncaughtException", (error) => {
    console.error(`bench failed: ${error.stack ?? error.message}`);
    void cleanUp(running).finally(() => process.exit(1));
  });

  if (options.soakMinutes !== undefined) return soak(running, options.soakMinutes).finally(() => cleanUp(running));
  try {
    await startServers(running);
    const results: ScenarioResult[] = [];
    const context = benchContext(running);
    for (const scenario of scenarios) results.push(await runScenario(scenario, context, settings));
    const machine = machineDescription();
    console.log(`\n${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}\n`);
    console.log(formatTable(results));
    console.log(`\nwritten to ${writeLatest(results, settings)}`);
    return results.some((r) => r.invalid) ? 1 : 0;
  } finally {
    await cleanUp(running);
  }
}

/** `--soak`: the scenarios do not run; a database of its own and one Gatehouse child process under load. */
async function soak(running: Running, minutes: number): Promise<number> {
  running.database = await createThrowawayDatabase();
  console.log(`database ${running.database.name}, Redis prefix ${running.redisPrefix}`);
  await migrateBenchDatabase(running.database.url);
  const result = await runSoak({ minutes, databaseUrl: running.database.url, redisUrl: running.redisUrl, redisPrefix: running.redisPrefix });
  const machine = machineDescription();
  console.log(`\n${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log(formatTable([result]));
  console.log(`\nwritten to ${writeLatestSoak(result)}`);
  return result.invalid ? 1 : 0;
}

async function startServers(running: Running): Promise<void> {
  running.database = await createThrowawayDatabase();
  console.log(`database ${running.database.name}, Redis prefix ${running.redisPrefix}`);
  await migrateBenchDatabase(running.database.url);
  running.gatehouse = await startBenchGatehouse({ databaseUrl: running.database.url, redisUrl: running.redisUrl, redisPrefix: running.redisPrefix });
  // Same pool size as Gatehouse, so neither side wins by holding more connections.
  running.baseline = await startBaselineServer({ databaseUrl: running.database.url, redisUrl: running.redisUrl, poolMax: running.gatehouse.settings.poolMax });
}

/** A scenario that fails is reported as invalid; the others still print their figures. */
async function runScenario(scenario: Scenario, context: BenchContext, settings: LoadSettings): Promise<ScenarioResult> {
  try {
    return await scenario.run(context, settings);
  } catch (error) {
    const message = error instanceof Error ? error.stack ?? error.message : String(error);
    console.error(`${scenario.name} failed: ${message}`);
    return { name: scenario.name, description: scenario.description, method: "did not finish", figures: [], details: { error: message }, invalid: `failed: ${message.split("\n")[0]}` };
  }
}

function benchContext({ gatehouse, baseline, redisPrefix }: Running): BenchContext {
  if (!gatehouse || !baseline) throw new Error("servers not started");
  return {
    gatehouseUrl: gatehouse.url,
    adminToken: gatehouse.adminToken,
    gatehouse: gatehouse.settings,
    redisPrefix,
    pg: baseline.pg,
    redis: baseline.redis,
    baselineRoutes: baseline.routes,
    baselineUrl: baseline.url,
  };
}

/**
 * One clean-up however many paths ask for it (Ctrl-C, a failure it causes, the normal end): each waits for
 * the same one, so none exits the process while another is still dropping the database.
 */
function cleanUp(running: Running): Promise<void> {
  running.cleaning ??= cleanUpOnce(running);
  return running.cleaning;
}

/** Servers first (their pools hold connections to the database), then the database and the Redis keys. */
async function cleanUpOnce(running: Running): Promise<void> {
  const steps: Array<[string, (() => Promise<void>) | undefined]> = [
    // Processes the scenarios started (memory, two instances, soak), in case one was interrupted.
    ["stopping child processes", stopChildServers],
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
function armWatchdog(plannedSeconds: number, running: Running): void {
  const plannedMs = plannedSeconds * 1000;
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
