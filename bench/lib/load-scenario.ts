import { checkTarget, measurePair, spoiled, type PairFigures, type PairSettings, type Side } from "./load";
import { figure, type ScenarioResult } from "./report";
import type { BenchContext, Goal, LoadSettings, Scenario, Target } from "./scenario";

/** Measured seconds per server when neither --duration nor the scenario says otherwise. */
export const DEFAULT_DURATION = 8;

/** One request repeated against Gatehouse and against a baseline route doing the same work by hand. */
export type LoadScenario<State> = {
  name: string;
  description: string;
  /** Measured seconds per server when --duration is not given. */
  defaultDuration?: number;
  setup(context: BenchContext): Promise<State>;
  gatehouseTarget(state: State): Target;
  baselineTarget(state: State): Target;
  goal?: Goal;
};

export function pairSettings(settings: LoadSettings, defaultDuration = DEFAULT_DURATION): PairSettings {
  return { connections: settings.connections, warmup: settings.warmup, duration: settings.duration ?? defaultDuration };
}

export function describePair(pair: PairSettings): string {
  return `${pair.connections} connections, ${pair.warmup} s warm-up + ${pair.duration} s measured per server (two halves, A B B A)`;
}

/** Both sides of a load scenario, checked once before any load. */
export async function checkedSides(context: BenchContext, gatehouse: Target, baseline: Target): Promise<{ gatehouse: Side; baseline: Side }> {
  const sides = { gatehouse: { baseUrl: context.gatehouseUrl, target: gatehouse }, baseline: { baseUrl: context.baselineUrl, target: baseline } };
  await checkTarget(sides.gatehouse);
  await checkTarget(sides.baseline);
  return sides;
}

export function defineLoadScenario<State>(scenario: LoadScenario<State>): Scenario {
  return {
    name: scenario.name,
    description: scenario.description,
    budgetSeconds: (settings) => {
      const pair = pairSettings(settings, scenario.defaultDuration);
      return 2 * (pair.warmup + pair.duration) + 10;
    },
    async run(context, settings) {
      const state = await scenario.setup(context);
      const sides = await checkedSides(context, scenario.gatehouseTarget(state), scenario.baselineTarget(state));
      const pair = pairSettings(settings, scenario.defaultDuration);
      console.log(`${scenario.name}: measuring (warm-up, then gatehouse, baseline, baseline, gatehouse)...`);
      const measured = await measurePair(sides.gatehouse, sides.baseline, pair);
      return requestResult(scenario, measured, pair);
    },
  };
}

function requestResult(scenario: LoadScenario<unknown>, m: PairFigures, pair: PairSettings): ScenarioResult {
  const { gatehouse, baseline } = m;
  const goal = scenario.goal ?? {};
  const ratio = gatehouse.requestsPerSecond / baseline.requestsPerSecond;
  const problems = [spoiled("gatehouse", gatehouse), spoiled("baseline", baseline)].filter((p) => p !== undefined);
  const result: ScenarioResult = {
    name: scenario.name,
    description: scenario.description,
    method: describePair(pair),
    figures: [
      figure("req/s", "higher", 0, gatehouse.requestsPerSecond, baseline.requestsPerSecond,
        goal.minThroughputRatio === undefined ? undefined : { description: `>= ${goal.minThroughputRatio.toFixed(2)}x`, met: ratio >= goal.minThroughputRatio }),
      figure("p50 ms", "lower", 1, gatehouse.latencyP50Ms, baseline.latencyP50Ms),
      figure("p99 ms", "lower", 1, gatehouse.latencyP99Ms, baseline.latencyP99Ms,
        goal.maxP99Ms === undefined ? undefined : { description: `< ${goal.maxP99Ms} ms`, met: gatehouse.latencyP99Ms < goal.maxP99Ms }),
    ],
    details: { settings: pair, gatehouse, baseline },
  };
  if (problems.length > 0) result.invalid = problems.join("; ");
  return result;
}
