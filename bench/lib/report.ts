import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LoadSettings, Measurement } from "./load";
import type { Goal } from "./scenario";

export type ScenarioResult = {
  name: string;
  description: string;
  gatehouse: Measurement;
  baseline: Measurement;
  /** Gatehouse divided by baseline: below 1 is slower for req/s, above 1 is slower for latency. */
  ratio: { requestsPerSecond: number; latencyP50: number; latencyP99: number };
  goal?: Goal & { met: boolean };
  /** Why the figures cannot be trusted (errors or non-2xx responses), if they cannot. */
  invalid?: string;
};

export function compare(name: string, description: string, gatehouse: Measurement, baseline: Measurement, goal?: Goal): ScenarioResult {
  const ratio = {
    requestsPerSecond: divide(gatehouse.requestsPerSecond, baseline.requestsPerSecond),
    latencyP50: divide(gatehouse.latencyP50Ms, baseline.latencyP50Ms),
    latencyP99: divide(gatehouse.latencyP99Ms, baseline.latencyP99Ms),
  };
  const problems = [spoiled("gatehouse", gatehouse), spoiled("baseline", baseline)].filter((p) => p !== undefined);
  const result: ScenarioResult = { name, description, gatehouse, baseline, ratio };
  if (problems.length > 0) result.invalid = problems.join("; ");
  if (goal) {
    const met = (goal.minThroughputRatio === undefined || ratio.requestsPerSecond >= goal.minThroughputRatio)
      && (goal.maxP99Ms === undefined || gatehouse.latencyP99Ms <= goal.maxP99Ms);
    result.goal = { ...goal, met };
  }
  return result;
}

function spoiled(server: string, m: Measurement): string | undefined {
  if (m.requests === 0) return `${server}: no request completed`;
  if (m.non2xx + m.errors + m.timeouts === 0) return undefined;
  return `${server}: ${m.non2xx} non-2xx, ${m.errors} errors, ${m.timeouts} timeouts (status codes ${JSON.stringify(m.statusCodes)})`;
}

function divide(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}

export function formatTable(results: ScenarioResult[]): string {
  const header = ["scenario", "server", "req/s", "p50 ms", "p99 ms"];
  const rows: string[][] = [];
  for (const r of results) {
    rows.push([r.name, "gatehouse", fixed(r.gatehouse.requestsPerSecond, 0), fixed(r.gatehouse.latencyP50Ms, 1), fixed(r.gatehouse.latencyP99Ms, 1)]);
    rows.push(["", "baseline", fixed(r.baseline.requestsPerSecond, 0), fixed(r.baseline.latencyP50Ms, 1), fixed(r.baseline.latencyP99Ms, 1)]);
    rows.push(["", "gatehouse/baseline", times(r.ratio.requestsPerSecond), times(r.ratio.latencyP50), times(r.ratio.latencyP99)]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  const notes = results.flatMap((r) => [
    ...(r.goal ? [`${r.name}: goal ${r.goal.met ? "met" : "MISSED"} (${r.goal.description})`] : []),
    ...(r.invalid ? [`${r.name}: figures not valid: ${r.invalid}`] : []),
  ]);
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ...(notes.length ? ["", ...notes] : [])].join("\n");
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "n/a";
}

function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a";
}

export function machineDescription() {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? "unknown", memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` };
}

/** bench/results/latest.json (gitignored): the last run, for comparing by hand or in a script. */
export function writeLatest(results: ScenarioResult[], settings: LoadSettings): string {
  const dir = path.resolve(__dirname, "../results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "latest.json");
  const document = { date: new Date().toISOString(), machine: machineDescription(), settings: { ...settings, workers: 1 }, scenarios: results };
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  return file;
}
