import autocannon from "autocannon";
import { assertLocal } from "./local-services";
import type { Target } from "./scenario";

/** One autocannon run. */
export type Run = {
  seconds: number;
  requests: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Responses outside 2xx, connection errors and timeouts: any of them spoils the figures. */
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
};

/** Several runs against one server, combined; the runs are kept for the JSON report. */
export type Measurement = Omit<Run, "seconds"> & { requestsPerSecond: number; runs: Run[] };

export type LoadSettings = { connections: number; duration: number; warmup: number };

export type Side = { baseUrl: string; target: Target };

/** Fails before the load if the target does not answer as the scenario expects. */
export async function checkTarget({ baseUrl, target }: Side): Promise<void> {
  const url = targetUrl(baseUrl, target);
  const response = await fetch(url, { method: target.method, headers: target.headers, body: target.body });
  const body = await response.text();
  const problem = target.check(response.status, body);
  if (problem) throw new Error(`${target.method} ${url}: ${problem} (status ${response.status}: ${body.slice(0, 300)})`);
}

/**
 * Warms both servers, then measures them in two halves each, in the order A B B A: a change in the
 * machine's background load during the run then weighs on both sides alike instead of on one.
 */
export async function measurePair(gatehouse: Side, baseline: Side, settings: LoadSettings): Promise<{ gatehouse: Measurement; baseline: Measurement }> {
  if (settings.warmup > 0) {
    await fire(gatehouse, settings.connections, settings.warmup);
    await fire(baseline, settings.connections, settings.warmup);
  }
  const half = settings.duration / 2;
  const first = await fire(gatehouse, settings.connections, half);
  const second = await fire(baseline, settings.connections, half);
  const third = await fire(baseline, settings.connections, half);
  const fourth = await fire(gatehouse, settings.connections, half);
  return { gatehouse: combine([first, fourth]), baseline: combine([second, third]) };
}

async function fire({ baseUrl, target }: Side, connections: number, seconds: number): Promise<Run> {
  const result = await autocannon({
    url: targetUrl(baseUrl, target),
    method: target.method,
    headers: target.headers,
    body: target.body,
    connections,
    duration: seconds,
    // The load comes from a worker thread so that it does not share an event loop with the servers.
    workers: 1,
    timeout: 10,
  });
  return {
    seconds: result.duration,
    requests: result.requests.total,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
  };
}

/** Throughput over the total time; percentiles as the request-weighted mean of the runs' percentiles. */
function combine(runs: Run[]): Measurement {
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
    non2xx: sum((run) => run.non2xx),
    errors: sum((run) => run.errors),
    timeouts: sum((run) => run.timeouts),
    statusCodes,
    runs,
  };
}

function targetUrl(baseUrl: string, target: Target): string {
  const url = new URL(target.path, baseUrl).toString();
  assertLocal(url, "a benchmark target");
  return url;
}
