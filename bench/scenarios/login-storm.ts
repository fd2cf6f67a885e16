import { randomBytes } from "node:crypto";
import bcrypt from "bcrypt";
import express from "express";
import { adminCall, inParallel } from "../lib/admin-api";
import { createBenchBrowser, csrfTokenOf, signInSkippingMfa } from "../lib/browser";
import { createEventLoopGauge, type EventLoopDelay } from "../lib/event-loop";
import { checkTarget, combine, fire, measurePair, spoiled, type Companion, type Measurement, type PairSettings, type Run, type Server, type Side } from "../lib/load";
import { checkedSides, describePair, pairSettings } from "../lib/load-scenario";
import { figure, type ScenarioResult } from "../lib/report";
import type { BenchContext, LoadSettings, RequestVariant, Scenario, Target } from "../lib/scenario";

const NAME = "login-storm";
const REGION = "us";
// bcrypt at cost 12 manages about 7 compares a second on these 2 cores: 20 s per side gives ~150 logins.
const DEFAULT_DURATION = 20;
const GOAL_RATIO = 0.9;
const GOAL_SESSION_P99_MS = 20;
/** The session check: one connection, this many requests a second. */
const PROBE_RATE = 20;

type Prepared = { logins: RequestVariant[]; password: string; sessionCookie: string; sessionEmail: string };

/** A tenant, one user per connection (one credential check at a time per account and IP), and one signed-in user. */
async function prepare(context: BenchContext, connections: number): Promise<Prepared> {
  const slug = `storm-${randomBytes(4).toString("hex")}`;
  await adminCall(context, "POST", "/tenants", { slug, name: "Login Storm", region: REGION, mfaRequired: false }, 201);
  const password = randomBytes(18).toString("base64url");
  const emails = Array.from({ length: connections + 1 }, (_, i) => `storm-${i}@bench.example`);
  // Contractors may always use the local login, whatever the tenant's SSO. Each creation is a bcrypt hash
  // at the service's cost: a few at a time keep the pool busy.
  await inParallel(emails, 4, (email) =>
    adminCall(context, "POST", `/tenants/${slug}/users`, { email, name: "Storm User", kind: "contractor", password }, 201));
  const sessionEmail = emails.pop() as string;
  // One simulated browser per connection: its own browser cookie and the CSRF token bound to it.
  const logins = await inParallel(emails, 4, async (email) => {
    const browser = createBenchBrowser(context.gatehouseUrl);
    const _csrf = csrfTokenOf(await browser.get(`/${REGION}/login`));
    return { headers: { cookie: browser.cookieHeader() }, body: new URLSearchParams({ _csrf, tenant: slug, email, password }).toString() };
  });
  return { logins, password, sessionEmail, sessionCookie: await signInSkippingMfa(context, { region: REGION, tenant: slug, email: sessionEmail, password }) };
}

const loggedIn: Target["check"] = (_status, _body, headers) => {
  const location = headers.get("location");
  return location === `/${REGION}/login/mfa` || location === `/${REGION}/mfa/setup` ? undefined : `expected a redirect to the MFA step, got ${location}`;
};

function targets(prepared: Prepared): { gatehouse: Target; baseline: Target; probe: Target } {
  const form = { method: "POST" as const, path: `/${REGION}/login`, headers: { "content-type": "application/x-www-form-urlencoded" }, perConnection: prepared.logins, timeoutSeconds: 60 };
  return {
    gatehouse: { ...form, expectStatus: 303, check: loggedIn },
    baseline: { ...form, check: (status) => (status === 200 ? undefined : "expected 200 (password accepted)") },
    probe: {
      method: "GET",
      path: "/authz",
      headers: { cookie: prepared.sessionCookie },
      check: (status, _body, headers) => (status === 200 && headers.get("x-auth-email") === prepared.sessionEmail ? undefined : "expected 200 with the signed-in user's X-Auth-Email"),
    },
  };
}

/** bcrypt alone: the compare every correct login costs, at Gatehouse's cost, on a bare Express route. */
async function addBaselineRoute(context: BenchContext, password: string): Promise<void> {
  const hash = await bcrypt.hash(password, context.gatehouse.bcryptCost);
  const forms = express.urlencoded({ extended: false, limit: "16kb" });
  context.baselineRoutes.post(`/${REGION}/login`, forms, async (req, res) => {
    const given = typeof req.body?.password === "string" ? req.body.password : "";
    res.status((await bcrypt.compare(given, hash)) ? 200 : 401).end();
  });
}

/** The session check and the event-loop delay while nothing else runs, and while either storm runs. */
type SideEffects = { atRest: Measurement; during: Record<Server, Measurement>; loop: Record<Server | "atRest", EventLoopDelay> };

async function runStorm(context: BenchContext, settings: LoadSettings): Promise<ScenarioResult> {
  const pair = pairSettings(settings, DEFAULT_DURATION);
  const prepared = await prepare(context, pair.connections);
  await addBaselineRoute(context, prepared.password);
  const { gatehouse, baseline, probe } = targets(prepared);
  const sides = await checkedSides(context, gatehouse, baseline);
  const probeSide: Side = { baseUrl: context.gatehouseUrl, target: probe };
  await checkTarget(probeSide);

  console.log(`${NAME}: session check at rest, then storms (warm-up, then gatehouse, baseline, baseline, gatehouse)...`);
  const probePace = { connections: 1, seconds: pair.duration / 2, ratePerSecond: PROBE_RATE };
  const loop = { atRest: createEventLoopGauge(), gatehouse: createEventLoopGauge(), baseline: createEventLoopGauge() };
  if (pair.warmup > 0) await fire(probeSide, { ...probePace, seconds: pair.warmup });
  const atRest = combine([await loop.atRest.during(() => fire(probeSide, probePace))]);
  const companion: Companion<Run> = (server, seconds) => loop[server].during(() => fire(probeSide, { ...probePace, seconds }));
  const measured = await measurePair(sides.gatehouse, sides.baseline, pair, companion);
  const effects: SideEffects = {
    atRest,
    during: { gatehouse: combine(measured.companions.gatehouse), baseline: combine(measured.companions.baseline) },
    loop: { atRest: loop.atRest.delay(), gatehouse: loop.gatehouse.delay(), baseline: loop.baseline.delay() },
  };
  return stormResult(context, pair, { gatehouse: measured.gatehouse, baseline: measured.baseline }, effects);
}

function stormResult(context: BenchContext, pair: PairSettings, logins: Record<Server, Measurement>, effects: SideEffects): ScenarioResult {
  const { during, loop } = effects;
  const ratio = logins.gatehouse.requestsPerSecond / logins.baseline.requestsPerSecond;
  const stormP99 = during.gatehouse.latencyP99Ms;
  const problems = [
    spoiled("gatehouse logins", logins.gatehouse), spoiled("bcrypt alone", logins.baseline), spoiled("session check at rest", effects.atRest),
    spoiled("session check during the gatehouse storm", during.gatehouse), spoiled("session check during the bcrypt storm", during.baseline),
  ].filter((p) => p !== undefined);
  const pool = process.env.UV_THREADPOOL_SIZE ?? "4";
  const result: ScenarioResult = {
    name: NAME,
    description: `POST /${REGION}/login with a correct password (one user per connection) against bcrypt.compare alone at cost ${context.gatehouse.bcryptCost}`,
    method: `${describePair(pair)}; session check GET /authz, 1 connection at ${PROBE_RATE} req/s, during every half and ${pair.duration / 2} s at rest before`,
    figures: [
      figure("logins/s", "higher", 1, logins.gatehouse.requestsPerSecond, logins.baseline.requestsPerSecond, { description: `>= ${GOAL_RATIO.toFixed(2)}x`, met: ratio >= GOAL_RATIO }),
      figure("login p50 ms", "lower", 0, logins.gatehouse.latencyP50Ms, logins.baseline.latencyP50Ms),
      figure("session p99 ms, storm", "lower", 1, stormP99, during.baseline.latencyP99Ms, { description: `< ${GOAL_SESSION_P99_MS} ms`, met: stormP99 < GOAL_SESSION_P99_MS }),
      figure("session p99 ms, at rest", "lower", 1, effects.atRest.latencyP99Ms),
      figure("loop delay p99 ms, storm", "lower", 1, loop.gatehouse.p99Ms, loop.baseline.p99Ms),
      figure("loop delay p99 ms, at rest", "lower", 1, loop.atRest.p99Ms),
    ],
    notes: [
      `gatehouse: bcrypt on ${context.gatehouse.bcryptThreads} worker threads at nice ${context.gatehouse.bcryptThreadNice} (BCRYPT_THREADS, BCRYPT_THREAD_NICE)`,
      `logins baseline: a bare Express route in the same process doing bcrypt.compare (libuv pool: ${pool} threads, normal priority)`,
      "session check: GET /authz with a session cookie (the forward-auth check: one session-store read and touch); its",
      "  baseline column is the same check on Gatehouse while the bcrypt-alone storm runs; autocannon sends each second's requests back to back",
      "loop delay: event-loop delay of the process both servers run in (perf_hooks, 1 ms resolution), same periods as the session check",
    ],
    details: { settings: pair, probeRatePerSecond: PROBE_RATE, threadPool: Number(pool), logins, sessionCheck: { atRest: effects.atRest, during }, eventLoopDelay: loop },
  };
  if (problems.length > 0) result.invalid = problems.join("; ");
  return result;
}

export const loginStorm: Scenario = {
  name: NAME,
  description: "local-login throughput against bcrypt alone, and a session check while it runs",
  budgetSeconds: (settings) => {
    const pair = pairSettings(settings, DEFAULT_DURATION);
    // Plus six pauses for the logins still queued when a run stops (about 7 a second get through).
    return 3 * pair.warmup + 2.5 * pair.duration + (6 * pair.connections) / 5 + 30;
  },
  run: runStorm,
};
