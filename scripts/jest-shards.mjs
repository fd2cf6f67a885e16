// The suite as `npm test` runs it: Jest in N shards at once, each a separate process in band.
//
// Every Jest process gets its own database and Redis key prefix from test/support/global-setup.ts, so shards
// never see each other's rows or keys; inside a shard the files run one after the other, as several of them
// update every row of a table between tests (rotation campaigns, the mail outbox). With arguments (a path,
// -t ...) it runs one process in band with them instead.
//
// JEST_SHARDS sets N (default: 2, or 1 on a single-core machine).
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";

const jest = ["node_modules/jest/bin/jest.js", "--runInBand"];
const extra = process.argv.slice(2);
const shards = extra.length > 0 ? 1 : Number(process.env.JEST_SHARDS ?? Math.min(2, availableParallelism()));
if (!Number.isInteger(shards) || shards < 1) {
  console.error(`JEST_SHARDS must be a positive integer, got ${process.env.JEST_SHARDS}`);
  process.exit(2);
}

/** Runs one Jest process; its lines are prefixed with the shard when there are several. */
function run(args, label) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...jest, ...args], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      createInterface({ input: stream }).on("line", (line) => out.write(label ? `${label} ${line}\n` : `${line}\n`));
    }
    child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const started = Date.now();
const codes = shards === 1
  ? [await run(extra, "")]
  : await Promise.all(Array.from({ length: shards }, (_, i) => run([`--shard=${i + 1}/${shards}`], `[${i + 1}/${shards}]`)));
const failed = codes.filter((code) => code !== 0).length;
console.log(`\n${shards} shard${shards === 1 ? "" : "s"}, ${failed === 0 ? "all passed" : `${failed} failed`}, ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(failed === 0 ? 0 : 1);
