import { parseArgs } from "node:util";
import type { LoadSettings } from "./scenario";

export type BenchOptions = LoadSettings & {
  /** Run only scenarios whose name contains this. */
  only?: string;
  /** Run the memory soak instead of the scenarios, for this many minutes. */
  soakMinutes?: number;
};

const USAGE = `usage: npm run bench -- [--connections N] [--duration S] [--warmup S] [--only NAME]
       npm run bench -- --soak [--soak-minutes M]
  --connections  concurrent connections per run (default 10)
  --duration     measured seconds per server in every load scenario (default: the scenario's,
                 8 s; login-storm 20 s)
  --warmup       discarded warm-up seconds before each measurement (default 2)
  --only         run only the scenarios whose name contains NAME
  --soak         instead of the scenarios, one Gatehouse process under steady mixed load; reports its
                 memory growth (goal < 10 %) and writes bench/results/latest-soak.json
  --soak-minutes length of the soak (default 10)`;

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: "string", default: "10" },
      duration: { type: "string" },
      warmup: { type: "string", default: "2" },
      only: { type: "string" },
      soak: { type: "boolean", default: false },
      "soak-minutes": { type: "string", default: "10" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    connections: positiveInt("--connections", values.connections, 1, 1000),
    duration: values.duration === undefined ? undefined : positiveInt("--duration", values.duration, 2, 600),
    warmup: positiveInt("--warmup", values.warmup, 0, 60),
    only: values.only,
    soakMinutes: values.soak ? positiveInt("--soak-minutes", values["soak-minutes"], 1, 600) : undefined,
  };
}

function positiveInt(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: expected an integer from ${min} to ${max}, got "${value}"`);
  return n;
}
