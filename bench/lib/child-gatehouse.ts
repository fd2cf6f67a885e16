import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { signInSkippingMfa } from "./browser";
import { assertLocal } from "./local-services";
import type { BenchContext, Target } from "./scenario";

const ROOT = path.resolve(__dirname, "../..");
const GATEHOUSE_MAIN = path.join(ROOT, "dist/src/main.js");
const BARE_AUTHZ_SERVER = path.join(__dirname, "bare-authz-server.js");
const EMPTY_SERVER = path.join(__dirname, "empty-server.js");
const HOST = "127.0.0.1";
/** Lines of a child's output kept for the error message if it dies. */
const KEPT_LINES = 40;

/** A server running as its own process: its resident memory is its own, not shared with the driver's. */
export type ChildServer = { label: string; pid: number; url: string; output(): string; stop(): Promise<void> };

const live = new Set<ChildProcess>();
// The last resort when the driver exits without cleaning up (watchdog, uncaught error): exit handlers must be synchronous.
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Stops every child still running (the driver's clean-up and SIGINT path): SIGTERM, then SIGKILL after 3 s. */
export async function stopChildServers(): Promise<void> {
  await Promise.all([...live].map((child) => stopProcess(child)));
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

/** What instances behind one load balancer share: database, Redis prefix, public URL, keys and admin token. */
export type GatehouseGroup = {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  adminToken: string;
  /** Extra settings for every instance of the group (e.g. TRUST_PROXY). */
  env?: Record<string, string>;
};

export type ChildGatehouse = ChildServer & { adminToken: string };

/** A group's shared settings with a fresh admin token; the DATA_DIR of each instance is its own. */
export function gatehouseGroup(options: Omit<GatehouseGroup, "adminToken">): GatehouseGroup & { secretKeys: string } {
  return { ...options, adminToken: `bench-${randomBytes(24).toString("base64url")}`, secretKeys: `bench:${randomBytes(32).toString("base64")}` };
}

/**
 * `node dist/src/main.js` as `npm start` runs it, with the production settings of the in-process bench
 * Gatehouse (see gatehouse.ts). LOG_LEVEL stays at warn: at info every request writes a log line, which
 * the in-process Gatehouse does not pay either. Start instances of one group one after the other.
 */
export async function spawnChildGatehouse(group: GatehouseGroup & { secretKeys: string }, label = "gatehouse"): Promise<ChildGatehouse> {
  if (!existsSync(GATEHOUSE_MAIN)) throw new Error(`${GATEHOUSE_MAIN} is missing: run "npm run build" first (npm run bench does)`);
  const dataDir = mkdtempSync(path.join(tmpdir(), "gatehouse-bench-child-"));
  const port = await freePort();
  const env = {
    NODE_ENV: "production",
    HOST,
    PORT: String(port),
    PUBLIC_URL: "https://gatehouse.bench.invalid",
    DATABASE_URL: group.databaseUrl,
    REDIS_URL: group.redisUrl,
    REDIS_KEY_PREFIX: group.redisPrefix,
    SMTP_URL: "smtp://127.0.0.1:2525",
    BREACH_CHECK_URL: "",
    SECRET_KEYS: group.secretKeys,
    BOOTSTRAP_ADMIN_TOKEN: group.adminToken,
    LOG_LEVEL: "warn",
    DATA_DIR: dataDir,
    SHUTDOWN_GRACE_MS: "1000",
    ...group.env,
  };
  try {
    const server = await spawnChild(label, [GATEHOUSE_MAIN], env, `http://${HOST}:${port}`, "/readyz");
    return {
      ...server,
      adminToken: group.adminToken,
      async stop() {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The bare Express + ioredis server (bare-authz-server.js) in its own process: the memory baseline. */
export async function spawnBareAuthzServer(options: { redisUrl: string; key: string }): Promise<ChildServer> {
  const port = await freePort();
  return spawnChild("bare express + ioredis", [BARE_AUTHZ_SERVER], { PORT: String(port), REDIS_URL: options.redisUrl, PROBE_KEY: options.key }, `http://${HOST}:${port}`, "/healthz");
}

/** A node:http server that answers every request at once (empty-server.js): the paced generator's floor. */
export async function spawnEmptyServer(): Promise<ChildServer> {
  const port = await freePort();
  return spawnChild("empty node:http server", [EMPTY_SERVER], { PORT: String(port) }, `http://${HOST}:${port}`, "/");
}

async function spawnChild(label: string, args: string[], env: Record<string, string>, url: string, readyPath: string): Promise<ChildServer> {
  assertLocal(url, label);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    // stdin stays an open pipe: the bare server exits when it closes, i.e. when the driver is gone.
    stdio: ["pipe", "pipe", "pipe"],
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - KEPT_LINES));
  };
  // Both pipes are always read: a child blocked on a full pipe would stall mid-measurement.
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const output = () => lines.join("\n");
  const server: ChildServer = { label, pid: child.pid ?? -1, url, output, stop: () => stopProcess(child) };
  try {
    await waitUntilReady(child, new URL(readyPath, url).toString(), 60_000);
  } catch (error) {
    await server.stop();
    throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}\n${output()}`);
  }
  return server;
}

async function waitUntilReady(child: ChildProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before answering ${url}`);
    const status = await fetch(url).then((response) => response.status, () => 0);
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(`did not answer ${url} within ${timeoutMs} ms`);
}

/** A port the kernel has just handed out; the child binds it a moment later (a small race, fine on a bench box). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in MB: /proc on Linux, `ps` elsewhere; undefined once it has exited. */
export function residentMb(pid: number): number | undefined {
  try {
    if (process.platform === "linux") {
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      return kb === undefined ? undefined : Number(kb) / 1024;
    }
    const kb = Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim());
    return Number.isFinite(kb) && kb > 0 ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `intervalMs` until stopped. */
export function sampleResident(pid: number, intervalMs: number): { stop(): number[] } {
  const samples: number[] = [];
  const take = () => {
    const mb = residentMb(pid);
    if (mb !== undefined) samples.push(mb);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export type Seeded = { cookie: string; userId: string; email: string; slug: string };

/** A tenant without MFA and one signed-in user, created through the child's own admin API and login form. */
export async function seedSignedInUser(server: { url: string; adminToken: string }, prefix: string): Promise<Seeded> {
  const slug = `${prefix}-${randomBytes(4).toString("hex")}`;
  const email = `${prefix}@${slug}.example`;
  const password = randomBytes(18).toString("base64url");
  await childAdminCall(server, "/tenants", { slug, name: "Bench Child", region: "us", mfaRequired: false });
  const user = await childAdminCall<{ id: string }>(server, `/tenants/${slug}/users`, { email, name: "Bench User", kind: "contractor", password });
  const cookie = await signInSkippingMfa({ gatehouseUrl: server.url }, { region: "us", tenant: slug, email, password });
  return { cookie, userId: user.id, email, slug };
}

/** A POST to a child's admin API that must create something (201); the soak has no BenchContext for adminCall. */
async function childAdminCall<T>(server: { url: string; adminToken: string }, path: string, body: unknown): Promise<T> {
  const response = await fetch(new URL(`/api/v1${path}`, server.url), {
    method: "POST",
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST /api/v1${path}: expected 201, got ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** The database of this run, as the baseline's pool was given it: child processes need the URL itself. */
export function databaseUrlOf(context: BenchContext): string {
  const url = context.pg.options.connectionString;
  if (!url) throw new Error("the baseline pool has no connection string");
  return url;
}

/** GET /authz with the seeded cookie: 200 and that user's id, as a reverse proxy would see it. */
export function authzTarget(seeded: Seeded): Target {
  return {
    method: "GET", path: "/authz", headers: { cookie: seeded.cookie }, expectStatus: 200,
    check: (_status, _body, headers) => (headers.get("x-auth-user-id") === seeded.userId ? undefined : "expected X-Auth-User-Id of the signed-in user"),
  };
}

/** GET /api/v1/session with the same cookie: the session as JSON. */
export function sessionTarget(seeded: Seeded): Target {
  return {
    method: "GET", path: "/api/v1/session", headers: { cookie: seeded.cookie, accept: "application/json" }, expectStatus: 200,
    check: (_status, body) => (body.includes(seeded.userId) ? undefined : "expected the signed-in user's session as JSON"),
  };
}
