import { parseArgs } from "node:util";

export type BenchOptions = {
  connections: number;
  /** Measured seconds per server and scenario. */
  duration: number;
  /** Discarded seconds before each measurement. */
  warmup: number;
  /** Run only scenarios whose name contains this. */
  only?: string;
};

const USAGE = `usage: npm run bench -- [--connections N] [--duration S] [--warmup S] [--only NAME]
  --connections  concurrent connections per run (default 10)
  --duration     measured seconds per server and scenario (default 8)
  --warmup       discarded warm-up seconds before each measurement (default 2)
  --only         run only the scenarios whose name contains NAME`;

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: "string", default: "10" },
      duration: { type: "string", default: "8" },
      warmup: { type: "string", default: "2" },
      only: { type: "string" },
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
    duration: positiveInt("--duration", values.duration, 1, 600),
    warmup: positiveInt("--warmup", values.warmup, 0, 60),
    only: values.only,
  };
}

function positiveInt(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: expected an integer from ${min} to ${max}, got "${value}"`);
  return n;
}
