import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon, { type AutocannonOptions } from "autocannon";
import { assertLocal } from "./local-services";
import type { Target } from "./scenario";

/** One autocannon run. */
export type Run = {
  seconds: number;
  requests: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Responses with another status than the target expects, connection errors and timeouts: any of them spoils the figures. */
  unexpected: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
};

/** Several runs against one server, combined; the runs are kept for the JSON report. */
export type Measurement = Omit<Run, "seconds"> & { requestsPerSecond: number; runs: Run[] };

export type Side = { baseUrl: string; target: Target };

/** How one run pushes: as fast as `connections` allow, or at a fixed rate spread over them. */
export type Pace = { connections: number; seconds: number; ratePerSecond?: number };

export type PairSettings = { connections: number; duration: number; warmup: number };

export type Server = "gatehouse" | "baseline";

/** Something measured alongside every measured half (a probe, a gauge), told which server is under load. */
export type Companion<C> = (server: Server, seconds: number) => Promise<C>;

export type PairFigures<C = never> = {
  gatehouse: Measurement;
  baseline: Measurement;
  /** What the companion returned during each half of each server, in order. */
  companions: Record<Server, C[]>;
};

const CONNECTION_VARIANTS = path.join(__dirname, "connection-variants.js");

/** Fails before the load if the target (each of its variants) does not answer as the scenario expects. */
export async function checkTarget({ baseUrl, target }: Side): Promise<void> {
  const url = targetUrl(baseUrl, target);
  const variants = target.perConnection?.length ? target.perConnection : [{}];
  await Promise.all(variants.map(async (variant, i) => {
    const response = await fetch(url, {
      method: target.method,
      headers: { ...target.headers, ...variant.headers },
      body: variant.body ?? target.body,
      // A redirect is an answer to check, not one to follow.
      redirect: "manual",
    });
    const body = await response.text();
    const problem = statusProblem(target, response.status) ?? target.check(response.status, body, response.headers);
    if (problem) throw new Error(`${target.method} ${url} (variant ${i}): ${problem} (status ${response.status}: ${body.slice(0, 300)})`);
  }));
}

function statusProblem(target: Target, status: number): string | undefined {
  if (isExpected(target, status)) return undefined;
  return target.expectStatus === undefined ? "expected a 2xx status" : `expected status ${target.expectStatus}`;
}

function isExpected(target: Target, status: number): boolean {
  return target.expectStatus === undefined ? status >= 200 && status < 300 : status === target.expectStatus;
}

/**
 * Warms both servers, then measures them in two halves each, in the order A B B A: a change in the
 * machine's background load during the run then weighs on both sides alike instead of on one.
 */
export async function measurePair<C = never>(gatehouse: Side, baseline: Side, settings: PairSettings, companion?: Companion<C>): Promise<PairFigures<C>> {
  const { connections } = settings;
  if (settings.warmup > 0) {
    await letInFlightFinish(await fire(gatehouse, { connections, seconds: settings.warmup }), connections);
    await letInFlightFinish(await fire(baseline, { connections, seconds: settings.warmup }), connections);
  }
  const half = settings.duration / 2;
  const sides: Record<Server, Side> = { gatehouse, baseline };
  const runs: Record<Server, Run[]> = { gatehouse: [], baseline: [] };
  const companions: Record<Server, C[]> = { gatehouse: [], baseline: [] };
  for (const server of ["gatehouse", "baseline", "baseline", "gatehouse"] as const) {
    const [run, alongside] = await Promise.all([fire(sides[server], { connections, seconds: half }), companion?.(server, half)]);
    runs[server].push(run);
    if (companion) companions[server].push(alongside as C);
    await letInFlightFinish(run, connections);
  }
  return { gatehouse: combine(runs.gatehouse), baseline: combine(runs.baseline), companions };
}

/**
 * When a run stops, the server still works through the requests it had accepted (a login keeps its
 * place in bcrypt's queue); waiting as long as those take keeps them out of the next run's figures.
 */
async function letInFlightFinish(run: Run, connections: number): Promise<void> {
  if (run.requests === 0) return;
  const seconds = Math.min(30, connections / (run.requests / run.seconds));
  await sleep(seconds * 1000);
}

export async function fire({ baseUrl, target }: Side, pace: Pace): Promise<Run> {
  const options: AutocannonOptions = {
    url: targetUrl(baseUrl, target),
    method: target.method,
    headers: target.headers,
    body: target.body,
    connections: pace.connections,
    duration: pace.seconds,
    // The load comes from a worker thread so that it does not share an event loop with the servers.
    workers: 1,
    timeout: target.timeoutSeconds ?? 10,
  };
  if (target.perConnection?.length) {
    options.setupClient = CONNECTION_VARIANTS;
    options.initialContext = { connectionVariants: target.perConnection };
  }
  if (pace.ratePerSecond !== undefined) {
    options.overallRate = pace.ratePerSecond;
    // autocannon 9 "corrects" rate-limited latencies with an expected interval of ceil(1 / rate) ms, i.e.
    // 1 ms, and so adds made-up short samples; the measured latency of each request is what we want.
    options.ignoreCoordinatedOmission = true;
  }
  const result = await autocannon(options);
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, Number(count)]));
  const unexpected = Object.entries(statusCodes).reduce((sum, [code, count]) => sum + (isExpected(target, Number(code)) ? 0 : count), 0);
  return {
    seconds: result.duration,
    requests: result.requests.total,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    unexpected,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

/** Throughput over the total time; percentiles as the request-weighted mean of the runs' percentiles. */
export function combine(runs: Run[]): Measurement {
  const sum = (pick: (run: Run) => number) => runs.reduce((total, run) => total + pick(run), 0);
  const requests = sum((run) => run.requests);
  const weighted = (pick: (run: Run) => number) => (requests > 0 ? sum((run) => pick(run) * run.requests) / requests : Number.NaN);
  const statusCodes: Record<string, number> = {};
  for (const run of runs) {
    for (const [code, count] of Object.entries(run.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }
  return {
    requestsPerSecond: requests / sum((run) => run.seconds),
    requests,
    latencyP50Ms: weighted((run) => run.latencyP50Ms),
    latencyP99Ms: weighted((run) => run.latencyP99Ms),
    unexpected: sum((run) => run.unexpected),
    errors: sum((run) => run.errors),
    timeouts: sum((run) => run.timeouts),
    statusCodes,
    runs,
  };
}

/** Why a measurement cannot be trusted, or undefined when it can. */
export function spoiled(what: string, m: Measurement): string | undefined {
  if (m.requests === 0) return `${what}: no request completed`;
  if (m.unexpected + m.errors + m.timeouts === 0) return undefined;
  return `${what}: ${m.unexpected} unexpected statuses, ${m.errors} errors, ${m.timeouts} timeouts (status codes ${JSON.stringify(m.statusCodes)})`;
}

function targetUrl(baseUrl: string, target: Target): string {
  const url = new URL(target.path, baseUrl).toString();
  assertLocal(url, "a benchmark target");
  return url;
}
