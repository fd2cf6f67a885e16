import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LoadSettings } from "./scenario";

/** One figure of a scenario, for Gatehouse and (when there is one) for its baseline in the same run. */
export type Figure = {
  label: string;
  /** Which way is better: it says how to read the ratio. */
  better: "higher" | "lower";
  digits: number;
  gatehouse: number;
  baseline?: number;
  /** Gatehouse divided by baseline. */
  ratio?: number;
  /** A bound to stay within; reported, never fatal. */
  goal?: { description: string; met: boolean };
};

export type ScenarioResult = {
  name: string;
  description: string;
  /** How it was measured (load, durations, order), printed under the table. */
  method: string;
  figures: Figure[];
  /** What the reader must know to read the figures. */
  notes?: string[];
  /** The raw measurements, for the JSON report. */
  details: Record<string, unknown>;
  /** Why the figures cannot be trusted (errors, unexpected statuses, failed checks), if they cannot. */
  invalid?: string;
};

export function figure(
  label: string,
  better: Figure["better"],
  digits: number,
  gatehouse: number,
  baseline?: number,
  goal?: Figure["goal"],
): Figure {
  const result: Figure = { label, better, digits, gatehouse };
  if (baseline !== undefined) {
    result.baseline = baseline;
    result.ratio = baseline > 0 ? gatehouse / baseline : Number.NaN;
  }
  if (goal) result.goal = goal;
  return result;
}

export function formatTable(results: ScenarioResult[]): string {
  const header = ["scenario", "figure", "gatehouse", "baseline", "ratio", "goal"];
  const rows: string[][] = [];
  for (const r of results) {
    if (r.figures.length === 0) rows.push([r.name, "no figures", "-", "-", "-", ""]);
    r.figures.forEach((f, i) => {
      rows.push([
        i === 0 ? r.name : "",
        f.label,
        fixed(f.gatehouse, f.digits),
        f.baseline === undefined ? "-" : fixed(f.baseline, f.digits),
        f.ratio === undefined ? "-" : times(f.ratio),
        f.goal ? `${f.goal.description}: ${f.goal.met ? "met" : "MISSED"}` : "",
      ]);
    });
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const left = new Set([0, 1, 5]);
  const line = (cells: string[]) => cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ").trimEnd();
  const notes = results.flatMap((r) => [
    `${r.name}: ${r.description}; ${r.method}.`,
    ...(r.notes ?? []).map((note) => `  ${note}`),
    ...(r.invalid ? [`  FIGURES NOT VALID: ${r.invalid}`] : []),
  ]);
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), "", ...notes].join("\n");
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
