import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { assertLocal } from "./local-services";
import type { Target } from "./scenario";

/** Latencies of an evenly paced run, measured from each request's scheduled start. */
export type PacedRun = {
  rate: number; seconds: number; sent: number; completed: number; failed: number;
  /** From each request's due time: what a client sending at this rate would see. */
  latencyP50Ms: number; latencyP99Ms: number; latencyMaxMs: number;
  /** From the moment it was written to the socket: the server's answer time alone. */
  serviceP99Ms: number;
  /** Whether the generator got its raised scheduling priority (it needs CAP_SYS_NICE, e.g. root). */
  prioritised: boolean;
  /** Whether that priority was real-time scheduling (SCHED_FIFO; the native generator asks for it first). */
  realtime?: boolean;
  /** Which generator sent the requests: the native one, or the Node worker where it could not be built. */
  generator: GeneratorKind;
  /** Share of the machine's CPU time that was busy during the run (all processes, all cores); Linux only. */
  machineBusyPercent?: number;
  /**
   * Share of the machine's CPU time the hypervisor gave to other guests during the run (steal); Linux only.
   * A run with steal has lost CPU that neither server nor generator could use.
   */
  stealPercent?: number;
};

/** Busy, stolen and total jiffies of all cores so far, from /proc/stat; undefined where there is none. */
function cpuTimes(): { busy: number; steal: number; total: number } | undefined {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    // idle and iowait are the idle columns; steal (taken by the hypervisor) counts as busy: it is not ours.
    return { busy: total - fields[3]! - fields[4]!, steal: fields[7] ?? 0, total };
  } catch {
    return undefined;
  }
}

export type GeneratorKind = "native" | "node";

/*
 * The native generator (bench/native/paced-generator.c) is preferred: against a node:http server that
 * answers at once, in its own process, the Node worker below measured a p99 of 3 to 8 ms from due time on
 * a 2-core machine (its 1 ms timer and its own collections), the native one 0.4 to 1.3 ms. It is compiled
 * once per run with the machine's C compiler; without one (or off Linux, as it uses epoll and timerfd)
 * the worker is used and the report says so. BENCH_PACED_GENERATOR=node forces the worker, to compare.
 */
const NATIVE_SOURCE = path.resolve(__dirname, "../native/paced-generator.c");
const execFileAsync = promisify(execFile);
type Native = { binary?: string; unavailable?: string };
let native: Promise<Native> | undefined;

async function compileNative(): Promise<Native> {
  if (process.env.BENCH_PACED_GENERATOR === "node") return { unavailable: "BENCH_PACED_GENERATOR=node" };
  if (process.platform !== "linux") return { unavailable: "not Linux (it uses epoll and timerfd)" };
  const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-bench-generator-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const binary = path.join(dir, "paced-generator");
  try {
    await execFileAsync(process.env.CC ?? "cc", ["-O2", "-Wall", "-o", binary, NATIVE_SOURCE], { timeout: 60_000 });
    return { binary };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { unavailable: `no C compiler could build it (${reason})` };
  }
}

/** The native generator, compiled at the first paced run of this bench. */
const nativeBuild = (): Promise<Native> => (native ??= compileNative());

/** Which generator the paced runs of this bench use, and why not the native one where it is not. */
export async function pacedGenerator(): Promise<{ kind: GeneratorKind; unavailable?: string }> {
  const built = await nativeBuild();
  return built.binary ? { kind: "native" } : { kind: "node", unavailable: built.unavailable };
}

/*
 * The fallback, in a worker thread of the bench process. autocannon's overallRate sends each second's
 * requests back to back and then idles, so its "half rate" is full load for half a second. This one spaces
 * requests evenly to the millisecond (open loop: request i is due at start + i / rate, whether or not
 * earlier ones answered) and measures each from the moment it was due, so a stall is counted against every
 * request it delayed. It uses a fixed number of raw keep-alive sockets and reads only status lines: it
 * serves bodyless answers (forward auth) only. Like the native one, it asks for a raised priority (nice
 * -10) where allowed: a proxy calling /authz runs on its own host, while here the generator shares two
 * cores with the servers, Redis and PostgreSQL, and a generator waiting for a core would count its own
 * delay as the server's. Whether it got it is reported.
 */
const WORKER_SOURCE = `
const net = require("node:net");
const { parentPort, workerData } = require("node:worker_threads");
const { host, port, request: head, rate, seconds, connections, expectStatus, nice, warmupSeconds } = workerData;
let prioritised = false;
try {
  const tid = Number(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop());
  if (Number.isInteger(tid) && tid > 0) { require("node:os").setPriority(tid, nice); prioritised = true; }
} catch {
  // Not Linux, or not allowed to raise a priority: the run goes on at the normal one, and says so.
}
// Raw keep-alive sockets and one prebuilt request: the generator must be far cheaper than the server.
const request = Buffer.from(head);
const total = Math.floor(rate * seconds);
// The warm-up's requests come first: sent and answered like the rest, not recorded.
const warm = Math.floor(rate * warmupSeconds);
const all = warm + total;
const latencies = [];
const services = [];
const waiting = [];
let completed = 0, failed = 0, finished = 0, next = 0;
const start = performance.now() + 100;
const idle = [];
function record(due, index, sentAt, ok) {
  if (index < warm) return;
  const now = performance.now();
  latencies.push(now - due);
  services.push(now - sentAt);
  if (ok) completed += 1; else failed += 1;
  finished += 1;
  if (finished === total) report();
}
function open() {
  const socket = net.connect(port, host);
  socket.setNoDelay(true);
  let buffer = "";
  socket.current = undefined;
  socket.on("data", (chunk) => {
    buffer += chunk.toString("latin1");
    // Bodyless answers (Content-Length: 0): a response ends at its blank line.
    let end;
    while ((end = buffer.indexOf("\\r\\n\\r\\n")) >= 0) {
      const status = Number(buffer.slice(9, 12));
      buffer = buffer.slice(end + 4);
      const due = socket.current;
      socket.current = undefined;
      if (due !== undefined) record(due, socket.index, socket.sentAt, status === expectStatus);
      send(socket);
    }
  });
  socket.on("error", () => { if (socket.current !== undefined) record(socket.current, socket.index, socket.sentAt, false); });
  socket.on("connect", () => send(socket));
}
function send(socket) {
  const next = waiting.shift();
  if (next === undefined) { idle.push(socket); return; }
  socket.current = next.due;
  socket.index = next.index;
  socket.sentAt = performance.now();
  socket.write(request);
}
function tick() {
  const now = performance.now();
  while (next < all && start + (next * 1000) / rate <= now) {
    waiting.push({ due: start + (next * 1000) / rate, index: next });
    next += 1;
    const socket = idle.shift();
    if (socket) send(socket);
  }
  // A 1 ms timer, not a busy loop: the generator must leave the CPU to the servers it measures. Requests
  // that fell due meanwhile go out together, and their wait counts in their latency.
  if (next < all) setTimeout(tick, 1);
}
function report() {
  latencies.sort((a, b) => a - b);
  services.sort((a, b) => a - b);
  const at = (list, q) => list[Math.min(list.length - 1, Math.floor(q * list.length))];
  parentPort.postMessage({
    rate, seconds, sent: total, completed, failed, prioritised,
    latencyP50Ms: at(latencies, 0.5), latencyP99Ms: at(latencies, 0.99), latencyMaxMs: latencies[latencies.length - 1], serviceP99Ms: at(services, 0.99),
  });
  process.exit(0);
}
for (let i = 0; i < connections; i += 1) open();
setTimeout(tick, 100);
`;

const GENERATOR_NICE = -10;

/** warmupSeconds: paced the same way on the same connections before the measured seconds, not recorded. */
type Pace = { rate: number; seconds: number; connections: number; warmupSeconds?: number };
type Spec = Required<Pace> & { host: string; port: number; path: string; method: string; headers: Record<string, string>; expectStatus: number; nice: number };
type Figures = Omit<PacedRun, "generator" | "machineBusyPercent" | "stealPercent">;

export async function firePaced(baseUrl: string, target: Target, pace: Pace): Promise<PacedRun> {
  const url = new URL(target.path, baseUrl);
  assertLocal(url.toString(), "a benchmark target");
  if (target.body !== undefined) throw new Error("the paced generator sends bodyless requests only");
  const spec: Spec = {
    host: url.hostname === "localhost" ? "127.0.0.1" : url.hostname, port: Number(url.port), path: `${url.pathname}${url.search}`,
    method: target.method, headers: target.headers ?? {}, ...pace, warmupSeconds: pace.warmupSeconds ?? 0, expectStatus: target.expectStatus ?? 200, nice: GENERATOR_NICE,
  };
  const { binary } = await nativeBuild();
  // The native generator takes IPv4 addresses only; the bench's servers listen on 127.0.0.1.
  const useNative = binary !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(spec.host);
  const before = cpuTimes();
  const figures = useNative ? await runNative(binary, spec) : await runWorker(spec);
  const after = cpuTimes();
  const run: PacedRun = { ...figures, generator: useNative ? "native" : "node" };
  // Includes the generator's 100 ms start and the warm-up: a dilution, the same for every server.
  if (before && after && after.total > before.total) {
    run.machineBusyPercent = (100 * (after.busy - before.busy)) / (after.total - before.total);
    run.stealPercent = (100 * (after.steal - before.steal)) / (after.total - before.total);
  }
  return run;
}

function requestHead(spec: Spec): string {
  const lines = [`${spec.method} ${spec.path} HTTP/1.1`, `Host: ${spec.host}:${spec.port}`, "Connection: keep-alive", ...Object.entries(spec.headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

function runNative(binary: string, spec: Spec): Promise<Figures> {
  const args = [spec.host, spec.port, spec.rate, spec.seconds, spec.connections, spec.expectStatus, spec.nice, spec.warmupSeconds].map(String);
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`paced-generator exited with ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out) as Figures);
      } catch {
        reject(new Error(`paced-generator printed no figures: ${out.slice(0, 200)} ${err.trim()}`));
      }
    });
    child.stdin.end(requestHead(spec));
  });
}

function runWorker(spec: Spec): Promise<Figures> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ...spec, request: requestHead(spec) } });
  return new Promise((resolve, reject) => {
    worker.once("message", (figures: Figures) => {
      void worker.terminate();
      resolve(figures);
    });
    worker.once("error", reject);
  });
}
