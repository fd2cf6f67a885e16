import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import type { Redis } from "ioredis";
import { inParallel } from "../lib/admin-api";
import { assertLocal } from "../lib/local-services";
import { combine, spoiled, type Measurement, type PairSettings, type Run, type Server } from "../lib/load";
import { describePair, pairSettings } from "../lib/load-scenario";
import { figure, type ScenarioResult } from "../lib/report";
import type { BenchContext, LoadSettings, Scenario } from "../lib/scenario";

const NAME = "oidc-token";
const GOAL_RATIO = 0.9;
// Codes prepared per second of each run, per server: a code redeemed twice revokes its grant (and every code of
// it), so a run that outpaces these is reported invalid rather than measuring refusals.
const MAX_RATE: Record<Server, number> = { gatehouse: 1000, baseline: 4000 };
const CLIENT = path.join(__dirname, "oidc-token.client.js");
const REDIRECT_URI = "https://app.bench.invalid/callback";
const SCOPE = "openid email profile";
const PASSWORD = "bench correct horse battery staple";

type Side = { baseUrl: string; authorization: string; mint(count: number): Promise<string[]> };

const basic = (clientId: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`;

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

const tokenRequest = (code: string, verifier: string) =>
  new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier }).toString();

// ---- Gatehouse: an app registered through the admin API, codes obtained as a browser obtains them ------------

/** A cookie jar for fetch: the bench talks plain http to Gatehouse, so Secure cookies are sent back by hand. */
class Jar {
  private readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
  absorb(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

async function adminPost(context: BenchContext, apiPath: string, body: unknown): Promise<Record<string, string>> {
  const response = await fetch(new URL(`/api/v1${apiPath}`, context.gatehouseUrl), {
    method: "POST", headers: { authorization: `Bearer ${context.adminToken}`, "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST /api/v1${apiPath}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, string>;
}

/** The browser's requests, addressed to PUBLIC_URL or relative, sent to the Gatehouse under test. */
async function browse(context: BenchContext, jar: Jar, url: string, form?: Record<string, string>): Promise<Response> {
  const parsed = new URL(url, "https://gatehouse.bench.invalid");
  const target = new URL(parsed.pathname + parsed.search, context.gatehouseUrl);
  const response = await fetch(target, {
    method: form ? "POST" : "GET", redirect: "manual",
    headers: { cookie: jar.header(), accept: "text/html", ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  jar.absorb(response);
  return response;
}

/** A tenant, a user, an app restricted to the tenant, and a browser signed in at the regional login (no MFA). */
async function gatehouseSide(context: BenchContext): Promise<Side> {
  const slug = `oidc-${randomBytes(4).toString("hex")}`;
  await adminPost(context, "/tenants", { slug, name: "OIDC bench", region: "us", mfaRequired: false });
  const email = `user@${slug}.example`;
  await adminPost(context, `/tenants/${slug}/users`, { email, name: "Bench User", kind: "contractor", password: PASSWORD });
  const app = await adminPost(context, "/applications", { name: "Bench app", redirectUris: [REDIRECT_URI], tenants: [slug] });

  const jar = new Jar();
  const form = await (await browse(context, jar, `/us/login?tenant=${slug}`)).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form)?.[1] ?? "";
  const step = await browse(context, jar, "/us/login", { _csrf: csrf, tenant: slug, email, password: PASSWORD });
  if (step.headers.get("location") !== "/us/mfa/setup") throw new Error(`password step: ${step.status}`);
  const done = await browse(context, jar, "/us/mfa/setup/skip", { _csrf: csrf });
  if (done.status !== 303) throw new Error(`skipping enrolment: ${done.status}`);

  async function code(): Promise<string> {
    const { verifier, challenge } = pkce();
    const query = new URLSearchParams({
      client_id: app.clientId!, redirect_uri: REDIRECT_URI, response_type: "code", scope: SCOPE, code_challenge: challenge, code_challenge_method: "S256", state: "bench",
    });
    let location = `/oidc/auth?${query.toString()}`;
    for (let hop = 0; hop < 6; hop++) {
      const response = await browse(context, jar, location);
      location = response.headers.get("location") ?? "";
      if (location.startsWith(REDIRECT_URI)) {
        const issued = new URL(location).searchParams.get("code");
        if (!issued) throw new Error(`no code: ${location}`);
        return tokenRequest(issued, verifier);
      }
      if (response.status !== 303) throw new Error(`authorization: ${response.status} ${(await response.text()).slice(0, 300)}`);
    }
    throw new Error("authorization: too many redirects");
  }

  // The first authorization binds the provider session to the Gatehouse session; the others reuse it.
  const first = await code();
  let pending: string | undefined = first;
  return {
    baseUrl: context.gatehouseUrl,
    authorization: basic(app.clientId!, app.clientSecret!),
    async mint(count) {
      const made = pending ? [pending] : [];
      pending = undefined;
      return [...made, ...(await inParallel(Array.from({ length: count - made.length }, (_, i) => i), 8, () => code()))];
    },
  };
}

// ---- Baseline: a bare oidc-provider with a Redis adapter, mounted on the baseline Express server -------------

type Payload = Record<string, unknown>;

/** The usual Redis adapter of oidc-provider's examples, over the baseline's ioredis client. */
function redisAdapter(redis: Redis, prefix: string) {
  return (model: string) => {
    const key = (id: string) => `${prefix}${model}:${id}`;
    return {
      async upsert(id: string, payload: Payload, expiresIn: number) {
        const multi = redis.multi().set(key(id), JSON.stringify(payload), "EX", expiresIn);
        if (typeof payload.grantId === "string") multi.rpush(`${prefix}grant:${payload.grantId}`, key(id)).expire(`${prefix}grant:${payload.grantId}`, expiresIn);
        if (typeof payload.uid === "string") multi.set(`${prefix}uid:${payload.uid}`, id, "EX", expiresIn);
        await multi.exec();
      },
      async find(id: string) {
        const raw = await redis.get(key(id));
        return raw ? (JSON.parse(raw) as Payload) : undefined;
      },
      async findByUid(uid: string) {
        const id = await redis.get(`${prefix}uid:${uid}`);
        return id ? this.find(id) : undefined;
      },
      findByUserCode: async () => undefined,
      async consume(id: string) {
        const raw = await redis.get(key(id));
        if (raw) await redis.set(key(id), JSON.stringify({ ...(JSON.parse(raw) as Payload), consumed: Math.floor(Date.now() / 1000) }), "KEEPTTL");
      },
      async destroy(id: string) {
        await redis.del(key(id));
      },
      async revokeByGrantId(grantId: string) {
        const keys = await redis.lrange(`${prefix}grant:${grantId}`, 0, -1);
        if (keys.length > 0) await redis.del(...keys);
        await redis.del(`${prefix}grant:${grantId}`);
      },
    };
  };
}

type BareProvider = {
  callback(): (req: unknown, res: unknown) => void;
  Grant: new (init: { accountId: string; clientId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
  Client: { find(id: string): Promise<unknown> };
  AuthorizationCode: new (init: Record<string, unknown>) => { save(): Promise<string> };
};

function baselineSide(context: BenchContext): Side {
  // An ESM package without types (see src/apps/oidc-provider-api.ts); Node >= 20.19 require()s it.
  const Provider = (require("oidc-provider") as { default: new (issuer: string, configuration: Record<string, unknown>) => BareProvider }).default;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const clientId = "bare-client";
  const clientSecret = randomBytes(32).toString("base64url");
  const accountId = "0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7f";
  const provider = new Provider(`${context.baselineUrl}/oidc`, {
    adapter: redisAdapter(context.redis, `${context.redisPrefix}bare-oidc:`),
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [REDIRECT_URI], grant_types: ["authorization_code"], response_types: ["code"] }],
    jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), kid: "bare", alg: "RS256", use: "sig" }] },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub, email: "user@bench.example", name: "Bench User", tenant: "bench", region: "us" }) }),
    claims: { openid: ["sub", "tenant", "region", "acr", "amr", "auth_time"], email: ["email"], profile: ["name"] },
    scopes: ["openid", "email", "profile"],
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false }, resourceIndicators: { enabled: false } },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    ttl: { AccessToken: 600, AuthorizationCode: 600, IdToken: 3600, Grant: 3600, Interaction: 600, Session: 3600 },
  });
  context.baselineRoutes.use("/oidc", provider.callback() as never);

  let grantId: Promise<string> | undefined;
  return {
    baseUrl: context.baselineUrl,
    authorization: basic(clientId, clientSecret),
    async mint(count) {
      grantId ??= (() => {
        const grant = new provider.Grant({ accountId, clientId });
        grant.addOIDCScope(SCOPE);
        return grant.save();
      })();
      const client = await provider.Client.find(clientId);
      return inParallel(Array.from({ length: count }, (_, i) => i), 8, async () => {
        const { verifier, challenge } = pkce();
        const code = new provider.AuthorizationCode({
          accountId, client, grantId: await grantId, scope: SCOPE, redirectUri: REDIRECT_URI, codeChallenge: challenge, codeChallengeMethod: "S256",
          authTime: Math.floor(Date.now() / 1000), acr: "aal1", amr: ["pwd"],
        });
        return tokenRequest(await code.save(), verifier);
      });
    },
  };
}

// ---- Measuring -----------------------------------------------------------------------------------------------

async function fireCodes(side: Side, bodies: string[], pace: { connections: number; seconds: number }): Promise<Run> {
  const url = new URL("/oidc/token", side.baseUrl).toString();
  assertLocal(url, "a benchmark target");
  const result = await autocannon({
    url, method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: side.authorization },
    connections: pace.connections, duration: pace.seconds, workers: 1, timeout: 30, setupClient: CLIENT, initialContext: { bodies },
  });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, Number(count)]));
  const unexpected = Object.entries(statusCodes).reduce((sum, [code, count]) => sum + (code === "200" ? 0 : count), 0);
  return {
    seconds: result.duration, requests: result.requests.total, latencyP50Ms: result.latency.p50, latencyP99Ms: result.latency.p99,
    unexpected, errors: result.errors, timeouts: result.timeouts, statusCodes,
  };
}

async function checkOnce(side: Side, body: string): Promise<void> {
  const response = await fetch(new URL("/oidc/token", side.baseUrl), {
    method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded", authorization: side.authorization },
  });
  const text = await response.text();
  if (response.status !== 200 || !/"id_token"/.test(text)) throw new Error(`${side.baseUrl}/oidc/token: ${response.status} ${text.slice(0, 300)}`);
}

async function settle(run: Run, connections: number): Promise<void> {
  if (run.requests > 0) await sleep(Math.min(30, connections / (run.requests / run.seconds)) * 1000);
}

const ranOut = (run: Run, bodies: string[]) => (run.requests > bodies.length ? `ran out of fresh codes (${run.requests} requests, ${bodies.length} codes)` : undefined);

async function runTokenEndpoint(context: BenchContext, settings: LoadSettings): Promise<ScenarioResult> {
  const pair = pairSettings(settings);
  const sides: Record<Server, Side> = { gatehouse: await gatehouseSide(context), baseline: baselineSide(context) };
  for (const side of Object.values(sides)) await checkOnce(side, (await side.mint(1))[0]!);
  // A faster machine outruns the planned rate: after the warm-up, half as many codes again as the rate seen.
  const seen: Record<Server, number> = { gatehouse: 0, baseline: 0 };
  const perRun = (server: Server, seconds: number) => Math.ceil(Math.max(MAX_RATE[server], 1.5 * seen[server]) * seconds) + pair.connections;

  // Codes live a minute: each run's are made just before it (not measured).
  const fire = async (server: Server, seconds: number) => {
    const bodies = await sides[server].mint(perRun(server, seconds));
    const run = await fireCodes(sides[server], bodies, { connections: pair.connections, seconds });
    seen[server] = Math.max(seen[server], run.requests / run.seconds);
    return { run, shortage: ranOut(run, bodies) };
  };
  console.log(`${NAME}: measuring (warm-up, then gatehouse, baseline, baseline, gatehouse; codes made before each run)...`);
  if (pair.warmup > 0) {
    for (const server of ["gatehouse", "baseline"] as const) await settle((await fire(server, pair.warmup)).run, pair.connections);
  }
  const runs: Record<Server, Run[]> = { gatehouse: [], baseline: [] };
  const shortages: string[] = [];
  for (const server of ["gatehouse", "baseline", "baseline", "gatehouse"] as const) {
    const { run, shortage } = await fire(server, pair.duration / 2);
    runs[server].push(run);
    if (shortage) shortages.push(`${server} ${shortage}`);
    await settle(run, pair.connections);
  }
  return tokenResult(pair, { gatehouse: combine(runs.gatehouse), baseline: combine(runs.baseline) }, shortages);
}

function tokenResult(pair: PairSettings, m: Record<Server, Measurement>, shortages: string[]): ScenarioResult {
  const ratio = m.gatehouse.requestsPerSecond / m.baseline.requestsPerSecond;
  const problems = [...shortages, spoiled("gatehouse token endpoint", m.gatehouse), spoiled("bare oidc-provider", m.baseline)].filter((p) => p !== undefined);
  const result: ScenarioResult = {
    name: NAME,
    description: "POST /oidc/token (authorization_code, PKCE, client_secret_basic) with a fresh code each time, against a bare oidc-provider",
    method: `${describePair(pair)}; each request redeems its own code (made before the run), answered with an access token and an RS256 ID token`,
    figures: [
      figure("tokens/s", "higher", 0, m.gatehouse.requestsPerSecond, m.baseline.requestsPerSecond, { description: `>= ${GOAL_RATIO.toFixed(2)}x`, met: ratio >= GOAL_RATIO }),
      figure("p50 ms", "lower", 1, m.gatehouse.latencyP50Ms, m.baseline.latencyP50Ms),
      figure("p99 ms", "lower", 1, m.gatehouse.latencyP99Ms, m.baseline.latencyP99Ms),
    ],
    notes: [
      "gatehouse: the full app (Express middleware, then oidc-provider at /oidc): the client cached per instance (registry",
      "  version read at most every 500 ms; secret hash compared), code, grant and provider session from Redis, the bound",
      "  Gatehouse session checked in Redis and its sign-in claims used (9 Redis round trips, no query a request)",
      "baseline: oidc-provider 9.13 alone on the baseline Express server in the same process: static client, a Redis adapter",
      "  (the usual JSON one), an account without a database, the same claims and key type",
    ],
    details: { settings: pair, maxPlannedRate: MAX_RATE, gatehouse: m.gatehouse, baseline: m.baseline },
  };
  if (problems.length > 0) result.invalid = problems.join("; ");
  return result;
}

export const oidcToken: Scenario = {
  name: NAME,
  description: "OpenID provider token endpoint against a bare oidc-provider",
  budgetSeconds: (settings) => {
    const pair = pairSettings(settings);
    // Making the codes (an authorization request each at Gatehouse) comes before every run.
    return 2 * (pair.warmup + pair.duration) + (MAX_RATE.gatehouse * 2 * (pair.warmup + pair.duration)) / 100 + 30;
  },
  run: runTokenEndpoint,
};
