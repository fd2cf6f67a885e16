import { randomBytes } from "node:crypto";
import { adminCall } from "../lib/admin-api";
import { signInSkippingMfa } from "../lib/browser";
import { authzTarget, databaseUrlOf, gatehouseGroup, median, seedSignedInUser, spawnBareAuthzServer, spawnChildGatehouse, spawnEmptyServer, type ChildServer } from "../lib/child-gatehouse";
import { checkTarget, fire, measurePair, spoiled, type Measurement, type PairSettings, type Run, type Side } from "../lib/load";
import { benchRedisUrl } from "../lib/local-services";
import { firePaced, pacedGenerator, type PacedRun } from "../lib/paced";
import { cpuDuring } from "../lib/process-cpu";
import { checkedSides, describePair, pairSettings } from "../lib/load-scenario";
import { figure, type ScenarioResult } from "../lib/report";
import type { BenchContext, LoadSettings, Scenario, Target } from "../lib/scenario";

const NAME = "authz";
const REGION = "us";
const GOAL_RATIO = 0.7;
const GOAL_P99_MS = 5;
const DEFAULT_DURATION = 10;
const BASELINE_KEY = "bench:authz-probe";
const OWN_PROCESS_KEY = "bench:authz-own-process-probe";

type Paced = { gatehouse: PacedRun; baseline: PacedRun };
/** CPU µs per request (warm-up requests included) of the server process alone, and of Redis beside it. */
type CpuPerRequest = { serverUs?: number; redisUs?: number };
/** withoutCopies: a second Gatehouse with SESSION_READ_CACHE_ENTRIES=0 (a Redis read per check), at the baseline's half rate. */
type OwnProcess = {
  half: Paced; baselineHalf: Paced; cpu: { gatehouse: CpuPerRequest; baseline: CpuPerRequest };
  withoutCopies: { run: PacedRun; cpu: CpuPerRequest }; emptyCpu: CpuPerRequest; floor: PacedRun; rounds: Round[];
};
type Pace = { rate: number; seconds: number; connections: number; warmupSeconds: number };

/*
 * The goal's figure, in rounds. The speed of a shared VM changes from one second to the next: on one
 * 2-core machine Gatehouse's maximum measured 5,200 to 9,100 req/s within a few minutes. A half rate
 * taken from a maximum measured a minute earlier is, by the time it runs, anything from a third to two
 * thirds of what the machine can do then, and at two thirds a slow second builds a queue that dominates
 * the p99. So each round measures a server's maximum (closed loop) and at once paces it at half that;
 * Gatehouse and the baseline take turns, each in its own process. The goal takes the median of the
 * rounds' p99s, and every round is printed.
 */
const ROUNDS = 6;
const ROUND_MAX_SECONDS = 2;
const ROUND_PACED_SECONDS = 3;
/*
 * Every paced run first paces its connections for this long without recording. Against an empty node:http
 * server on one 2-core VM, the first second of a run on new connections had a p99 of 14 to 330 ms and the
 * rest 1.5 to 10 ms: new sockets and a process's first moments, not what a proxy holding keep-alive
 * connections to a running server sees (bench/native/paced-generator.c, WARMUP).
 */
const PACED_WARMUP_SECONDS = 1;

/** One server's turn in a round: its maximum just measured, then the paced run at half of it. */
type RoundRun = { maxPerSecond: number; max: Run; paced: PacedRun };
/**
 * floor: the empty node:http server paced right after Gatehouse's turn, at Gatehouse's rate and over the
 * same connections: what the machine and the generator alone put into a p99 at that moment. Steal, read
 * from /proc/stat, says nothing where the hypervisor does not report it (it read 0 % throughout on a VM
 * where two busy loops on two cores still saw gaps of 5 ms).
 */
type Round = { gatehouse: RoundRun; baseline: RoundRun; floor: PacedRun };

/**
 * Keep-alive connections for an evenly paced run: at least the requests of 2 ms in flight. With too few,
 * requests wait in the generator for a free connection and that wait counts in their latency, which is the
 * generator's limit, not the server's (a proxy opens more connections under load).
 */
function pacedConnections(rate: number, least: number): number {
  return Math.max(least, Math.ceil(rate / 500));
}

/**
 * The half-rate runs again with each server in its own process (Gatehouse from dist/, the bare server as
 * plain JS), as they are deployed: in the bench process both servers share one heap, so a collection of
 * garbage made by either stalls both, and a stall of a few ms delays dozens of requests at this rate.
 * Then the generator's floor: the same pace against a server that answers at once.
 */
async function pacedInOwnProcesses(context: BenchContext, paces: { half: Pace; baselineHalf: Pace }): Promise<OwnProcess> {
  const redisUrl = benchRedisUrl();
  const children: ChildServer[] = [];
  try {
    const group = gatehouseGroup({ databaseUrl: databaseUrlOf(context), redisUrl, redisPrefix: context.redisPrefix });
    const gatehouse = await spawnChildGatehouse(group, "authz gatehouse");
    children.push(gatehouse);
    const seeded = await seedSignedInUser(gatehouse, "authz");
    const key = `${context.redisPrefix}${OWN_PROCESS_KEY}`;
    await context.redis.set(key, seeded.userId);
    const bare = await spawnBareAuthzServer({ redisUrl, key });
    children.push(bare);
    const sides = { gatehouse: { baseUrl: gatehouse.url, target: authzTarget(seeded) }, baseline: { baseUrl: bare.url, target: { method: "GET", path: "/authz", expectStatus: 200, check: () => undefined } as Target } };
    await Promise.all([checkTarget(sides.gatehouse), checkTarget(sides.baseline)]);
    const both = async (pace: Pace): Promise<Paced> => ({
      gatehouse: await firePaced(sides.gatehouse.baseUrl, sides.gatehouse.target, pace),
      baseline: await firePaced(sides.baseline.baseUrl, sides.baseline.target, pace),
    });
    const half = await both(paces.half);
    // At the baseline's half rate both servers keep up, so each does the same work: the CPU it takes per
    // request, its own and Redis's, is a figure the machine's noise moves far less than a latency.
    const redisPid = Number(/process_id:(\d+)/.exec(await context.redis.info("server"))?.[1] ?? Number.NaN);
    const withCpu = async (side: Side, pid: number, pace: Pace) => {
      const { result, cpuMs } = await cpuDuring({ server: pid, redis: redisPid }, () => firePaced(side.baseUrl, side.target, pace));
      const requests = pace.rate * (pace.seconds + pace.warmupSeconds);
      const us = (ms: number | undefined) => (ms === undefined ? undefined : (ms * 1000) / requests);
      return { run: result, cpu: { serverUs: us(cpuMs.server), redisUs: us(cpuMs.redis) } };
    };
    const gatehouseAtBaselineHalf = await withCpu(sides.gatehouse, gatehouse.pid, paces.baselineHalf);
    const baselineAtBaselineHalf = await withCpu(sides.baseline, bare.pid, paces.baselineHalf);
    const baselineHalf = { gatehouse: gatehouseAtBaselineHalf.run, baseline: baselineAtBaselineHalf.run };
    const cpu = { gatehouse: gatehouseAtBaselineHalf.cpu, baseline: baselineAtBaselineHalf.cpu };
    // The same check without the copies, on the same session, for what they save.
    const uncopied = await spawnChildGatehouse({ ...group, env: { ...group.env, SESSION_READ_CACHE_ENTRIES: "0" } }, "authz gatehouse without copies");
    let withoutCopies: OwnProcess["withoutCopies"];
    try {
      const side = { baseUrl: uncopied.url, target: authzTarget(seeded) };
      await checkTarget(side);
      withoutCopies = await withCpu(side, uncopied.pid, paces.baselineHalf);
    } finally {
      await uncopied.stop();
    }
    const empty = await spawnEmptyServer();
    children.push(empty);
    const emptyTarget = { method: "GET", path: "/authz", expectStatus: 200, check: () => undefined } as Target;
    const floor = await firePaced(empty.url, emptyTarget, paces.half);
    // What any node:http server pays per request at that rate: the part of Gatehouse's CPU it cannot shed.
    const emptyCpu = (await withCpu({ baseUrl: empty.url, target: emptyTarget }, empty.pid, paces.baselineHalf)).cpu;
    return { half, baselineHalf, cpu, withoutCopies, emptyCpu, floor, rounds: await freshRounds(sides, { baseUrl: empty.url, target: emptyTarget }, paces.half.connections) };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

async function roundRun(side: Side, connections: number): Promise<RoundRun> {
  const max = await fire(side, { connections, seconds: ROUND_MAX_SECONDS });
  const maxPerSecond = max.requests / max.seconds;
  const rate = Math.max(1, Math.floor(maxPerSecond / 2));
  const paced = await firePaced(side.baseUrl, side.target, roundPace(rate, connections));
  return { maxPerSecond, max, paced };
}

const roundPace = (rate: number, connections: number): Pace => ({ rate, seconds: ROUND_PACED_SECONDS, connections: pacedConnections(rate, connections), warmupSeconds: PACED_WARMUP_SECONDS });

/** Gatehouse and the baseline in turns, the first of each round alternating; the floor right after Gatehouse. */
async function freshRounds(sides: { gatehouse: Side; baseline: Side }, empty: Side, connections: number): Promise<Round[]> {
  const rounds: Round[] = [];
  const gatehouseAndFloor = async () => {
    const gatehouse = await roundRun(sides.gatehouse, connections);
    return { gatehouse, floor: await firePaced(empty.baseUrl, empty.target, roundPace(gatehouse.paced.rate, connections)) };
  };
  for (let i = 0; i < ROUNDS; i += 1) {
    if (i % 2 === 0) {
      const first = await gatehouseAndFloor();
      rounds.push({ ...first, baseline: await roundRun(sides.baseline, connections) });
    } else {
      const baseline = await roundRun(sides.baseline, connections);
      rounds.push({ ...(await gatehouseAndFloor()), baseline });
    }
  }
  return rounds;
}

function roundsMedian(rounds: Round[], server: "gatehouse" | "baseline" | "floor"): number {
  return median(rounds.map((round) => (server === "floor" ? round.floor : round[server].paced).latencyP99Ms));
}

/** What went wrong in a round's runs, if anything: the figures of a round with failures mean nothing. */
function roundProblems(rounds: Round[]): string[] {
  return rounds.flatMap((round, i) => (["gatehouse", "baseline"] as const).flatMap((server) => {
    const { max, paced } = round[server];
    const wrong = max.unexpected + max.errors + max.timeouts;
    return [
      wrong > 0 ? `${server} in round ${i + 1}: ${wrong} failed requests at its maximum` : undefined,
      paced.failed > 0 ? `${server} in round ${i + 1}: ${paced.failed} failed paced requests` : undefined,
    ].filter((p) => p !== undefined);
  }).concat(round.floor.failed > 0 ? [`the empty server in round ${i + 1}: ${round.floor.failed} failed paced requests`] : []));
}

function roundsNote(rounds: Round[]): string[] {
  const steal = (run: PacedRun) => (run.stealPercent === undefined ? "" : `, steal ${run.stealPercent.toFixed(1)} %`);
  const turn = (name: string, run: RoundRun) => `${name} max ${Math.round(run.maxPerSecond).toLocaleString("en-US")}/s, p99 ${run.paced.latencyP99Ms.toFixed(1)} ms at ${run.paced.rate.toLocaleString("en-US")}/s${steal(run.paced)}`;
  return [
    `goal row: ${ROUNDS} rounds; in each, each server's maximum (${ROUND_MAX_SECONDS} s, closed loop), then ${ROUND_PACED_SECONDS} s evenly paced at half of it`,
    `  (after ${PACED_WARMUP_SECONDS} s paced unrecorded); median of the rounds' p99s; the floor: an empty node:http server paced`,
    `  right after Gatehouse at its rate (median ${roundsMedian(rounds, "floor").toFixed(1)} ms): what the machine and generator alone add at that moment`,
    ...rounds.map((round, i) => `  round ${i + 1}: ${turn("gatehouse", round.gatehouse)}; floor ${round.floor.latencyP99Ms.toFixed(1)} ms; ${turn("baseline", round.baseline)}`),
  ];
}

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
  const pace = (rate: number): Pace => ({ rate, seconds: pair.duration / 2, connections: pacedConnections(rate, pair.connections), warmupSeconds: PACED_WARMUP_SECONDS });
  const halfRate = Math.max(1, Math.floor(max.gatehouse.requestsPerSecond / 2));
  const baselineHalfRate = Math.max(1, Math.floor(max.baseline.requestsPerSecond / 2));
  const paced = { gatehouse: await firePaced(context.gatehouseUrl, gatehouse, pace(halfRate)), baseline: await firePaced(context.baselineUrl, baseline, pace(halfRate)) };
  console.log(`${NAME}: half rates with each server in its own process...`);
  const own = await pacedInOwnProcesses(context, { half: pace(halfRate), baselineHalf: pace(baselineHalfRate) });
  return result(pair, max.gatehouse, max.baseline, { paced, own }, { halfRate, baselineHalfRate }, await generatorNotes(own.floor));
}

/** How busy the whole machine was during each half-rate run: the generator, both servers, Redis and the kernel share it. */
function busyNote(paced: Paced, own: Paced): string[] {
  const busy = (run: PacedRun) => (run.machineBusyPercent === undefined ? "?" : `${Math.round(run.machineBusyPercent)} %`);
  if ([paced, own].every((p) => p.gatehouse.machineBusyPercent === undefined)) return [];
  return [`  machine CPU busy during the half-rate runs (all cores): shared ${busy(paced.gatehouse)} / ${busy(paced.baseline)}, own process ${busy(own.gatehouse)} / ${busy(own.baseline)} (gatehouse / baseline)`];
}

/** Which generator sent the paced requests, and what it measures against a server that does nothing. */
async function generatorNotes(floor: PacedRun): Promise<string[]> {
  const generator = await pacedGenerator();
  const which = generator.kind === "native"
    ? "paced requests sent by the native generator (bench/native/paced-generator.c: timerfd, epoll, one process)"
    : `paced requests sent by the Node worker generator (1 ms timer); the native one was not used: ${generator.unavailable ?? "?"}`;
  return [
    which,
    `  its floor at the half rate, against an empty node:http server in its own process: p50 ${floor.latencyP50Ms.toFixed(2)} ms, p99 ${floor.latencyP99Ms.toFixed(1)} ms from due time`,
  ];
}

/** The generator's scheduling: a client on its own host would not wait for the servers' CPU. */
function priorityNote(runs: Paced[]): string {
  const all = runs.flatMap((p) => [p.gatehouse, p.baseline]);
  if (all.every((run) => run.realtime)) return "  the generator ran at real-time priority (SCHED_FIFO), as a client on its own host would not wait for the servers' CPU";
  if (all.every((run) => run.prioritised)) return "  the generator ran at nice -10 (not real-time), as a client on its own host would not wait for the servers' CPU";
  return "  the generator could not raise its priority (needs CAP_SYS_NICE): its own waits for a core count in the due-time p99";
}

type Rates = { halfRate: number; baselineHalfRate: number };

function withoutCopiesNote(own: OwnProcess): string[] {
  const { run, cpu } = own.withoutCopies;
  const us = (value: number | undefined) => (value === undefined ? "?" : value.toFixed(1));
  const both = (c: CpuPerRequest) => (c.serverUs === undefined || c.redisUs === undefined ? undefined : c.serverUs + c.redisUs);
  return [
    "without copies: a second Gatehouse (SESSION_READ_CACHE_ENTRIES=0, same session) at the baseline's half rate:",
    `  CPU ${us(cpu.serverUs)} µs/request, ${us(both(cpu))} with Redis (with copies: ${us(own.cpu.gatehouse.serverUs)}, ${us(both(own.cpu.gatehouse))}); p99 ${run.latencyP99Ms.toFixed(1)} ms, p50 ${run.latencyP50Ms.toFixed(2)} ms`,
    `  the empty node:http server at the same rate: CPU ${us(own.emptyCpu.serverUs)} µs/request, what any Node server pays for a request there`,
  ];
}

/** The CPU rows, where /proc could be read for both servers (and Redis). */
function cpuFigures(cpu: OwnProcess["cpu"]) {
  const { gatehouse, baseline } = cpu;
  if (gatehouse.serverUs === undefined || baseline.serverUs === undefined) return [];
  const rows = [figure("CPU µs/request at baseline's half, server", "lower", 1, gatehouse.serverUs, baseline.serverUs)];
  if (gatehouse.redisUs !== undefined && baseline.redisUs !== undefined) {
    rows.push(figure("CPU µs/request there, server + Redis", "lower", 1, gatehouse.serverUs + gatehouse.redisUs, baseline.serverUs + baseline.redisUs));
  }
  return rows;
}

function result(pair: PairSettings, gatehouse: Measurement, baseline: Measurement, half: { paced: Paced; own: OwnProcess }, rates: Rates, generator: string[]): ScenarioResult {
  const { paced } = half;
  const own = half.own.half;
  const atBaselineHalf = half.own.baselineHalf;
  const roundsP99 = { gatehouse: roundsMedian(half.own.rounds, "gatehouse"), baseline: roundsMedian(half.own.rounds, "baseline") };
  const ratio = gatehouse.requestsPerSecond / baseline.requestsPerSecond;
  const runs = [paced, own, atBaselineHalf];
  const problems = [
    spoiled("gatehouse", gatehouse), spoiled("baseline", baseline),
    // Only Gatehouse must serve every paced request: at Gatehouse's half rate the baseline may be past its own maximum.
    ...runs.map((run) => (run.gatehouse.failed > 0 ? `gatehouse at a half rate: ${run.gatehouse.failed} failed requests` : undefined)),
    atBaselineHalf.baseline.failed > 0 ? `baseline at its half rate: ${atBaselineHalf.baseline.failed} failed requests` : undefined,
    ...roundProblems(half.own.rounds),
  ].filter((p) => p !== undefined);
  const connections = (rate: number) => pacedConnections(rate, pair.connections);
  const outcome: ScenarioResult = {
    name: NAME,
    description: "GET /authz with a session cookie (forward auth) against bare Express + ioredis reading one key",
    method: `${describePair(pair)}; then each server for ${pair.duration / 2} s evenly paced at half Gatehouse's measured maximum (${rates.halfRate} req/s over ${connections(rates.halfRate)} keep-alive connections) and, each in its own process, at half the baseline's (${rates.baselineHalfRate} req/s over ${connections(rates.baselineHalfRate)}); latency from each request's due time, after ${PACED_WARMUP_SECONDS} s paced unrecorded`,
    figures: [
      figure("req/s", "higher", 0, gatehouse.requestsPerSecond, baseline.requestsPerSecond, { description: `>= ${GOAL_RATIO.toFixed(2)}x`, met: ratio >= GOAL_RATIO }),
      figure("p99 ms at max", "lower", 1, gatehouse.latencyP99Ms, baseline.latencyP99Ms),
      figure("p99 ms at half rate, shared process", "lower", 1, paced.gatehouse.latencyP99Ms, paced.baseline.latencyP99Ms),
      figure("p99 ms at half rate, shared, from send", "lower", 1, paced.gatehouse.serviceP99Ms, paced.baseline.serviceP99Ms),
      figure("p99 ms at half rate, own process", "lower", 1, own.gatehouse.latencyP99Ms, own.baseline.latencyP99Ms),
      figure("p99 ms at half its max, own, rounds", "lower", 1, roundsP99.gatehouse, roundsP99.baseline, { description: `< ${GOAL_P99_MS} ms`, met: roundsP99.gatehouse < GOAL_P99_MS }),
      figure("p50 ms at half rate, own process", "lower", 2, own.gatehouse.latencyP50Ms, own.baseline.latencyP50Ms),
      figure("p99 ms at half rate, own, from send", "lower", 1, own.gatehouse.serviceP99Ms, own.baseline.serviceP99Ms),
      figure("p99 ms at baseline's half rate, own process", "lower", 1, atBaselineHalf.gatehouse.latencyP99Ms, atBaselineHalf.baseline.latencyP99Ms),
      figure("p50 ms at baseline's half rate, own process", "lower", 2, atBaselineHalf.gatehouse.latencyP50Ms, atBaselineHalf.baseline.latencyP50Ms),
      ...cpuFigures(half.own.cpu),
    ],
    notes: [
      "gatehouse: GET /authz validates the session (SHA-256 of the cookie token) from the instance's copy, which Redis's CLIENT TRACKING",
      "  drops on any change (one GET and PTTL where there is none; a touch write at most once a minute), and answers 200 with",
      "  X-Auth-User-Id, X-Auth-Email, X-Auth-Tenant, ahead of Express; the baseline answers 200 after one ioredis GET",
      "half rate: half Gatehouse's maximum (the goal's rate); the baseline is run at it too, even where that is past its own maximum",
      "latency from each request's due time (the goal's figure; includes any delay of the generator, which shares the cores",
      "  with both servers and Redis), and from the moment it was written to the socket (the server alone)",
      priorityNote(runs),
      ...generator,
      ...busyNote(paced, own),
      ...roundsNote(half.own.rounds),
      "CPU µs/request: user + system time of the server's process (and of redis-server) over its paced run at the baseline's",
      "  half rate, warm-up included, per request sent (/proc/<pid>/stat, 10 ms ticks); time the hypervisor took is not in it",
      ...withoutCopiesNote(half.own),
      "own process: Gatehouse started from dist/ and bare Express + ioredis (plain JS), each alone in its process as deployed",
      "  (the goal's row); shared process: both servers in the bench process, one heap and one GC",
    ],
    details: {
      settings: pair, gatehouse, baseline,
      halfRate: { ratePerSecond: rates.halfRate, measurement: paced, ownProcess: own, generatorFloor: half.own.floor },
      rounds: half.own.rounds,
      baselineHalfRate: { ratePerSecond: rates.baselineHalfRate, ownProcess: atBaselineHalf, cpuPerRequest: half.own.cpu, withoutCopies: half.own.withoutCopies },
    },
  };
  if (problems.length > 0) outcome.invalid = problems.join("; ");
  return outcome;
}

export const authz: Scenario = {
  name: NAME,
  description: "forward-auth session check against bare Express + ioredis",
  budgetSeconds: (settings) => {
    const pair = pairSettings(settings, DEFAULT_DURATION);
    // Plus seven paced runs (two shared, four in own processes, the generator's floor), each with its warm-up,
    // and the rounds (each server's maximum and paced run, the floor's paced run, the waits for in-flight requests).
    const pacedRun = pair.duration / 2 + PACED_WARMUP_SECONDS;
    const roundPaced = ROUND_PACED_SECONDS + PACED_WARMUP_SECONDS + 1;
    return 2 * (pair.warmup + pair.duration) + 9 * pacedRun + 15 + ROUNDS * (2 * (ROUND_MAX_SECONDS + roundPaced) + roundPaced) + 60;
  },
  run,
};
