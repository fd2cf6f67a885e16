import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createBenchBrowser, csrfTokenOf } from "./browser";
import { authzTarget, gatehouseGroup, median, residentMb, seedSignedInUser, sessionTarget, spawnChildGatehouse, type ChildGatehouse, type Seeded } from "./child-gatehouse";
import { checkTarget, combine, fire, spoiled, type Measurement, type Side } from "./load";
import { figure, machineDescription, type ScenarioResult } from "./report";
import type { Target } from "./scenario";

const NAME = "soak";
const REGION = "us";
const GOAL_GROWTH_PERCENT = 10;
/** Steady rates, well under what one process manages on 2 cores: a soak looks for leaks, not limits. */
const RATES = { authz: 100, session: 40, adminRead: 10, login: 1 } as const;
/** The median of the samples in this share of the run, after the warm-up and at the end, smooths out GC. */
const WINDOW_SHARE = 0.05;

export type SoakOptions = { minutes: number; databaseUrl: string; redisUrl: string; redisPrefix: string };

type Sample = { atSeconds: number; rssMb: number };
type LoginTally = { sent: number; statuses: Record<string, number> };

/** Seconds the soak may take: the load, start-up, seeding and the stop. */
export function soakBudgetSeconds(minutes: number): number {
  return minutes * 60 + 90;
}

/** One warm-up of at most a minute and at most 10 % of the run; samples often enough for ~120 of them. */
function timing(minutes: number) {
  const totalSeconds = minutes * 60;
  return { totalSeconds, warmupSeconds: Math.min(60, totalSeconds * 0.1), sampleSeconds: Math.min(5, Math.max(1, totalSeconds / 120)) };
}

function targets(seeded: Seeded, adminToken: string): Record<"authz" | "session" | "adminRead", Target> {
  return {
    authz: authzTarget(seeded),
    session: sessionTarget(seeded),
    adminRead: {
      method: "GET", path: `/api/v1/tenants/${seeded.slug}`, headers: { authorization: `Bearer ${adminToken}` }, expectStatus: 200,
      check: (_status, body) => (body.includes(seeded.slug) ? undefined : "expected the tenant"),
    },
  };
}

/**
 * Failed logins at the regional form, paced from this thread: an address no account has, so every one is
 * a dummy bcrypt compare plus the throttle counters and an audit row. Each comes from its own
 * X-Forwarded-For address (the soak's Gatehouse trusts 127.0.0.1 as a proxy), so the per-IP counter never
 * throttles the run into cheap 429s.
 */
async function failLogins(server: ChildGatehouse, seeded: Seeded, until: number): Promise<LoginTally> {
  const browser = createBenchBrowser(server.url);
  const _csrf = csrfTokenOf(await browser.get(`/${REGION}/login`));
  const tally: LoginTally = { sent: 0, statuses: {} };
  const pending: Array<Promise<void>> = [];
  const start = Date.now();
  while (Date.now() < until) {
    const address = `10.${randomBytes(3).join(".")}`;
    const form = new URLSearchParams({ _csrf, tenant: seeded.slug, email: `nobody-${randomBytes(6).toString("hex")}@${seeded.slug}.example`, password: "not the password" });
    tally.sent += 1;
    pending.push(fetch(new URL(`/${REGION}/login`, server.url), {
      method: "POST", redirect: "manual", body: form.toString(),
      headers: { cookie: browser.cookieHeader(), "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": address },
    }).then(
      async (response) => {
        await response.arrayBuffer();
        tally.statuses[response.status] = (tally.statuses[response.status] ?? 0) + 1;
      },
      () => void (tally.statuses.error = (tally.statuses.error ?? 0) + 1),
    ));
    await sleep(Math.max(0, start + (tally.sent * 1000) / RATES.login - Date.now()));
  }
  await Promise.all(pending);
  return tally;
}

/** RSS every `sampleSeconds` until `until`, with a line of progress each minute. */
async function sampleUntil(server: ChildGatehouse, start: number, until: number, sampleSeconds: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  let nextReport = 60;
  while (Date.now() < until) {
    const atSeconds = (Date.now() - start) / 1000;
    const rssMb = residentMb(server.pid);
    if (rssMb === undefined) throw new Error(`Gatehouse (pid ${server.pid}) is gone:\n${server.output()}`);
    samples.push({ atSeconds, rssMb });
    if (atSeconds >= nextReport) {
      console.log(`${NAME}: ${Math.round(atSeconds / 60)} min, RSS ${rssMb.toFixed(1)} MB`);
      nextReport += 60;
    }
    await sleep(Math.min(sampleSeconds * 1000, Math.max(0, until - Date.now())));
  }
  return samples;
}

export async function runSoak(options: SoakOptions): Promise<ScenarioResult> {
  const { totalSeconds, warmupSeconds, sampleSeconds } = timing(options.minutes);
  const group = gatehouseGroup({ ...options, env: { TRUST_PROXY: "127.0.0.1" } });
  console.log(`${NAME}: starting Gatehouse (node dist/src/main.js) as a child process...`);
  const server = await spawnChildGatehouse(group, "gatehouse soak");
  try {
    const seeded = await seedSignedInUser(server, "soak");
    const all = targets(seeded, server.adminToken);
    const side = (target: Target): Side => ({ baseUrl: server.url, target });
    const sides = { authz: side(all.authz), session: side(all.session), adminRead: side(all.adminRead) };
    for (const side of Object.values(sides)) await checkTarget(side);

    console.log(`${NAME}: ${options.minutes} min of steady load, RSS every ${sampleSeconds} s...`);
    const start = Date.now();
    const until = start + totalSeconds * 1000;
    const paced = (side: Side, rate: number, connections: number) => fire(side, { connections, seconds: totalSeconds, ratePerSecond: rate }).then((run) => combine([run]));
    const [samples, authz, session, adminRead, logins] = await Promise.all([
      sampleUntil(server, start, until, sampleSeconds),
      paced(sides.authz, RATES.authz, 4),
      paced(sides.session, RATES.session, 2),
      paced(sides.adminRead, RATES.adminRead, 1),
      failLogins(server, seeded, until),
    ]);
    return result(options.minutes, { totalSeconds, warmupSeconds, sampleSeconds }, samples, { authz, session, adminRead, logins });
  } finally {
    await server.stop();
  }
}

type Loads = { authz: Measurement; session: Measurement; adminRead: Measurement; logins: LoginTally };

function result(minutes: number, t: ReturnType<typeof timing>, samples: Sample[], loads: Loads): ScenarioResult {
  const window = t.totalSeconds * WINDOW_SHARE;
  const within = (from: number, to: number) => samples.filter((s) => s.atSeconds >= from && s.atSeconds <= to).map((s) => s.rssMb);
  const afterWarmup = median(within(t.warmupSeconds, t.warmupSeconds + window));
  const atEnd = median(within(t.totalSeconds - window, t.totalSeconds));
  const max = Math.max(...samples.map((s) => s.rssMb));
  const growth = ((atEnd - afterWarmup) / afterWarmup) * 100;
  const loginProblem = Object.entries(loads.logins.statuses).some(([status]) => status !== "401") ? `logins: expected 401 only, got ${JSON.stringify(loads.logins.statuses)}` : undefined;
  const problems = [spoiled("authz", loads.authz), spoiled("session", loads.session), spoiled("admin read", loads.adminRead), loginProblem].filter((p) => p !== undefined);
  const rate = (m: Measurement) => m.requestsPerSecond;
  const outcome: ScenarioResult = {
    name: NAME,
    description: "one Gatehouse process (node dist/src/main.js) under steady mixed load: its resident memory over time",
    method: `${minutes} min at GET /authz ${RATES.authz}/s, GET /api/v1/session ${RATES.session}/s, GET /api/v1/tenants/:slug ${RATES.adminRead}/s (autocannon, `
      + `paced per second) and ${RATES.login} failed POST /${REGION}/login per second; RSS every ${t.sampleSeconds} s; "after warm-up" is the median of the samples `
      + `from ${t.warmupSeconds} s to ${t.warmupSeconds + window} s, "at end" of the last ${window} s`,
    figures: [
      figure("RSS MB after warm-up", "lower", 1, afterWarmup),
      figure("RSS MB at end", "lower", 1, atEnd),
      figure("RSS MB max", "lower", 1, max),
      figure("RSS growth %", "lower", 1, growth, undefined, { description: `< ${GOAL_GROWTH_PERCENT} %`, met: growth < GOAL_GROWTH_PERCENT }),
      figure("req/s served, all kinds", "higher", 0, rate(loads.authz) + rate(loads.session) + rate(loads.adminRead) + loads.logins.sent / t.totalSeconds),
    ],
    notes: [
      "no baseline: the growth of one process against itself; growth % = (at end - after warm-up) / after warm-up",
      `failed logins: ${loads.logins.sent} sent (${JSON.stringify(loads.logins.statuses)}), unknown addresses of the tenant, each from its own X-Forwarded-For`,
      `p99 ms over the soak: authz ${loads.authz.latencyP99Ms}, session ${loads.session.latencyP99Ms}, admin read ${loads.adminRead.latencyP99Ms}`,
      ...(minutes < 10 ? [`a ${minutes}-minute soak is a trial run: the issue's figure is the 10-minute one`] : []),
    ],
    details: { minutes, timing: t, samples, loads },
  };
  if (problems.length > 0) outcome.invalid = problems.join("; ");
  return outcome;
}

/** bench/results/latest-soak.json, beside latest.json (which a soak leaves alone). */
export function writeLatestSoak(result: ScenarioResult): string {
  const dir = path.resolve(__dirname, "../results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "latest-soak.json");
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine: machineDescription(), soak: result }, null, 2)}\n`);
  return file;
}
