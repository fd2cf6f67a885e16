import { randomBytes } from "node:crypto";
import { adminCall } from "../lib/admin-api";
import { signInSkippingMfa } from "../lib/browser";
import { measurePair, spoiled, type Measurement, type PairSettings } from "../lib/load";
import { firePaced, type PacedRun } from "../lib/paced";
import { checkedSides, describePair, pairSettings } from "../lib/load-scenario";
import { figure, type ScenarioResult } from "../lib/report";
import type { BenchContext, LoadSettings, Scenario, Target } from "../lib/scenario";

const NAME = "authz";
const REGION = "us";
const GOAL_RATIO = 0.7;
const GOAL_P99_MS = 5;
const DEFAULT_DURATION = 10;
const BASELINE_KEY = "bench:authz-probe";

type Prepared = { cookie: string; email: string; userId: string };

/** One signed-in user of a tenant without MFA; the baseline reads one Redis key. */
async function prepare(context: BenchContext): Promise<Prepared> {
  const slug = `authz-${randomBytes(4).toString("hex")}`;
  const email = `authz@${slug}.example`;
  const password = randomBytes(18).toString("base64url");
  await adminCall(context, "POST", "/tenants", { slug, name: "Forward Auth", region: REGION, mfaRequired: false }, 201);
  const user = await adminCall<{ id: string }>(context, "POST", `/tenants/${slug}/users`, { email, name: "Proxy User", kind: "contractor", password }, 201);
  const cookie = await signInSkippingMfa(context, { region: REGION, tenant: slug, email, password });
  await context.redis.set(`${context.redisPrefix}${BASELINE_KEY}`, "1");
  // The baseline: bare Express and ioredis reading one key.
  context.baselineRoutes.get("/authz", async (_req, res) => {
    const found = await context.redis.get(`${context.redisPrefix}${BASELINE_KEY}`);
    res.status(found ? 200 : 401).end();
  });
  return { cookie, email, userId: user.id };
}

function targets(prepared: Prepared): { gatehouse: Target; baseline: Target } {
  return {
    gatehouse: {
      method: "GET", path: "/authz", headers: { cookie: prepared.cookie }, expectStatus: 200,
      check: (_status, _body, headers) => (headers.get("x-auth-user-id") === prepared.userId ? undefined : "expected X-Auth-User-Id of the signed-in user"),
    },
    baseline: { method: "GET", path: "/authz", expectStatus: 200, check: () => undefined },
  };
}

async function run(context: BenchContext, settings: LoadSettings): Promise<ScenarioResult> {
  const pair = pairSettings(settings, DEFAULT_DURATION);
  const prepared = await prepare(context);
  const { gatehouse, baseline } = targets(prepared);
  const sides = await checkedSides(context, gatehouse, baseline);
  console.log(`${NAME}: maximum rate (warm-up, then gatehouse, baseline, baseline, gatehouse), then each at half Gatehouse's maximum, evenly paced...`);
  const max = await measurePair(sides.gatehouse, sides.baseline, pair);
  const halfRate = Math.max(1, Math.floor(max.gatehouse.requestsPerSecond / 2));
  const pace = { rate: halfRate, seconds: pair.duration / 2, connections: pair.connections };
  const paced = { gatehouse: await firePaced(context.gatehouseUrl, gatehouse, pace), baseline: await firePaced(context.baselineUrl, baseline, pace) };
  return result(pair, max.gatehouse, max.baseline, paced, halfRate);
}

function result(pair: PairSettings, gatehouse: Measurement, baseline: Measurement, paced: { gatehouse: PacedRun; baseline: PacedRun }, halfRate: number): ScenarioResult {
  const ratio = gatehouse.requestsPerSecond / baseline.requestsPerSecond;
  const problems = [spoiled("gatehouse", gatehouse), spoiled("baseline", baseline), ...(["gatehouse", "baseline"] as const).map((side) => (paced[side].failed > 0 ? `${side} at half rate: ${paced[side].failed} failed requests` : undefined))].filter((p) => p !== undefined);
  const outcome: ScenarioResult = {
    name: NAME,
    description: "GET /authz with a session cookie (forward auth) against bare Express + ioredis reading one key",
    method: `${describePair(pair)}; then each server for ${pair.duration / 2} s at half Gatehouse's measured maximum (${halfRate} req/s, evenly spaced over ${pair.connections} keep-alive connections, latency from each request's due time)`,
    figures: [
      figure("req/s", "higher", 0, gatehouse.requestsPerSecond, baseline.requestsPerSecond, { description: `>= ${GOAL_RATIO.toFixed(2)}x`, met: ratio >= GOAL_RATIO }),
      figure("p99 ms at max", "lower", 1, gatehouse.latencyP99Ms, baseline.latencyP99Ms),
      figure("p99 ms at half rate", "lower", 1, paced.gatehouse.latencyP99Ms, paced.baseline.latencyP99Ms, { description: `< ${GOAL_P99_MS} ms`, met: paced.gatehouse.latencyP99Ms < GOAL_P99_MS }),
      figure("p50 ms at half rate", "lower", 2, paced.gatehouse.latencyP50Ms, paced.baseline.latencyP50Ms),
      figure("p99 ms at half rate, from send", "lower", 1, paced.gatehouse.serviceP99Ms, paced.baseline.serviceP99Ms),
    ],
    notes: [
      "gatehouse: GET /authz validates the session in Redis (SHA-256 of the cookie token, one GET; a touch write at most once a minute)",
      "  and answers 200 with X-Auth-User-Id, X-Auth-Email, X-Auth-Tenant; the baseline answers 200 after one ioredis GET",
      "half rate: latency from each request's due time (the goal's figure; includes any delay of the generator, which shares",
      "  the cores with both servers and Redis), and from the moment it was written to the socket (the server alone)",
      paced.gatehouse.prioritised && paced.baseline.prioritised
        ? "  the generator's thread ran at nice -10, as a client on its own host would not wait for the servers' CPU"
        : "  the generator's thread could not raise its priority (needs CAP_SYS_NICE): its own waits for a core count in the due-time p99",
    ],
    details: { settings: pair, gatehouse, baseline, halfRate: { ratePerSecond: halfRate, measurement: paced } },
  };
  if (problems.length > 0) outcome.invalid = problems.join("; ");
  return outcome;
}

export const authz: Scenario = {
  name: NAME,
  description: "forward-auth session check against bare Express + ioredis",
  budgetSeconds: (settings) => {
    const pair = pairSettings(settings, DEFAULT_DURATION);
    return 2 * (pair.warmup + pair.duration) + pair.duration + 30;
  },
  run,
};
