import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);
export const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 20_000;

export type RedisAddress = { host: string; port: number };

/** Every redis-server this module started and has not stopped yet: killed if the test process exits first. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const orphan of live) orphan.kill("SIGKILL");
  });
}

/** One redis-server child process; the tail of its log goes into the error when start-up fails. */
export class RedisProcess {
  private readonly log: string[] = [];
  private readonly exited: Promise<void>;

  constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      this.log.push(...String(chunk).split("\n").filter(Boolean));
      this.log.splice(0, Math.max(0, this.log.length - 40));
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    killOnExit(child);
  }

  get address(): RedisAddress {
    return { host: HOST, port: this.port };
  }

  get logTail(): string {
    return `redis-server :${this.port}\n  ${this.log.join("\n  ")}`;
  }

  /** SIGKILL, as a crash would: no shutdown, no goodbye to clients or replicas. Resolves once it exited. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const stopped = await Promise.race([this.exited.then(() => true), sleep(3_000, false, { ref: false })]);
    if (!stopped) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

export function startRedisServer(port: number, dir: string, args: string[]): RedisProcess {
  const child = spawn(
    "redis-server",
    [...args, "--port", String(port), "--bind", HOST, "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  return new RedisProcess(port, child);
}

/** Distinct free TCP ports on 127.0.0.1, all held open together so that none is handed out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, HOST, () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** redis-cli against one local port; its trimmed output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", HOST, "-p", String(port), "--no-auth-warning", ...args], { timeout: 5_000 });
  return stdout.trim();
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function failedStart(processes: RedisProcess[], dir: string, error: unknown): Promise<never> {
  await Promise.all(processes.map((p) => p.stop()));
  await rm(dir, { recursive: true, force: true });
  throw new Error(`local Redis did not start: ${(error as Error).message}\n${processes.map((p) => p.logTail).join("\n")}`, { cause: error });
}

export interface LocalRedisCluster {
  /** The masters' addresses: use any of them as seed nodes. */
  nodes: RedisAddress[];
  /** How long start-up took, in ms. */
  startupMs: number;
  /** Stops one master (e.g. to see the client fail closed); the others keep running. */
  stopNode(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` masters without replicas on free ports of 127.0.0.1, each a child
 * redis-server with its files in a temporary directory. Call stop() in afterAll; children left
 * running when the test process exits are killed.
 */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<LocalRedisCluster> {
  const masters = options.masters ?? 3;
  const started = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), "gh-redis-cluster-"));
  const processes: RedisProcess[] = [];
  try {
    const ports = await freePorts(masters * 2);
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [ports[2 * i]!, ports[2 * i + 1]!];
      processes.push(startRedisServer(port, dir, [
        "--cluster-enabled", "yes",
        "--cluster-config-file", path.join(dir, `nodes-${port}.conf`),
        // The bus port is chosen too (default: port + 10000, which may be taken).
        "--cluster-port", String(busPort),
        "--cluster-node-timeout", "2000",
      ]));
    }
    await Promise.all(processes.map((p) => waitUntil(`redis-server :${p.port}`, async () => (await redisCli(p.port, "ping")) === "PONG")));
    const addresses = processes.map((p) => `${HOST}:${p.port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"], { timeout: START_TIMEOUT_MS });
    await Promise.all(processes.map((p) => waitUntil(`cluster_state:ok on :${p.port}`, async () => {
      const info = await redisCli(p.port, "cluster", "info");
      return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info);
    })));
  } catch (error) {
    return failedStart(processes, dir, error);
  }
  return {
    nodes: processes.map((p) => p.address),
    startupMs: Date.now() - started,
    async stopNode(port) {
      await processes.find((p) => p.port === port)?.stop();
    },
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface LocalRedisSentinel {
  sentinels: RedisAddress[];
  masterName: string;
  master: RedisAddress;
  stop(): Promise<void>;
}

/**
 * One master and one sentinel watching it, both with a password (requirepass), so that a client has
 * to send the right password to each. No failover is exercised: one sentinel with quorum 1 is enough
 * to name the master.
 */
export async function startRedisSentinel(options: { masterName: string; password: string; sentinelPassword: string }): Promise<LocalRedisSentinel> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gh-redis-sentinel-"));
  const processes: RedisProcess[] = [];
  try {
    const [masterPort, sentinelPort] = (await freePorts(2)) as [number, number];
    processes.push(startRedisServer(masterPort, dir, ["--requirepass", options.password]));
    const config = path.join(dir, "sentinel.conf");
    // Sentinel rewrites its config file, so it lives in the temporary directory.
    await writeFile(config, [
      `sentinel monitor ${options.masterName} ${HOST} ${masterPort} 1`,
      `sentinel auth-pass ${options.masterName} ${options.password}`,
      `requirepass ${options.sentinelPassword}`,
      "",
    ].join("\n"));
    processes.push(new RedisProcess(sentinelPort, spawn(
      "redis-server",
      [config, "--sentinel", "--port", String(sentinelPort), "--bind", HOST, "--dir", dir, "--daemonize", "no"],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    )));
    await waitUntil("sentinel naming the master", async () => {
      const reply = await redisCli(sentinelPort, "-a", options.sentinelPassword, "sentinel", "get-master-addr-by-name", options.masterName);
      return reply.split("\n").map((line) => line.trim()).join(":") === `${HOST}:${masterPort}`;
    });
    return {
      sentinels: [{ host: HOST, port: sentinelPort }],
      masterName: options.masterName,
      master: { host: HOST, port: masterPort },
      async stop() {
        await Promise.all(processes.map((p) => p.stop()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    return failedStart(processes, dir, error);
  }
}
