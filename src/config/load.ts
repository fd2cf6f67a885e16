import { availableParallelism } from "node:os";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { envSchema } from "./schema";

export type SecretKey = { id: string; key: Buffer };

export type RedisHostPort = { host: string; port: number };
/** Cluster and sentinel mode; a single node carries these in its URL (`rediss://user:password@host`). */
export type RedisAuth = { username?: string; password?: string; tls: boolean };
/** Where Redis is: one node, a Redis Cluster (seed nodes), or a master that Sentinel names. */
export type RedisTarget =
  | { mode: "single"; url: string }
  | ({ mode: "cluster"; nodes: readonly RedisHostPort[] } & RedisAuth)
  | ({ mode: "sentinel"; sentinels: readonly RedisHostPort[]; masterName: string; sentinelPassword?: string } & RedisAuth);

export type Config = Readonly<{
  env: "development" | "test" | "production";
  host: string;
  port: number;
  publicUrl: string;
  secureCookies: boolean;
  regions: readonly string[];
  /** Base URL of each region's local login; falls back to publicUrl. */
  regionUrls: Readonly<Record<string, string>>;
  databaseUrl?: string;
  databasePoolMax: number;
  /** Absent: the in-process store (development only). */
  redis?: RedisTarget;
  redisKeyPrefix: string;
  /** Copies of sessions kept in this process on a single Redis node (tracked-reads.ts); 0: none. */
  sessionReadCacheEntries: number;
  smtpUrl?: string;
  mailFrom: string;
  /** First key encrypts; all keys decrypt. Absent in development until generated under dataDir. */
  secretKeys?: readonly SecretKey[];
  bootstrapAdminToken?: string;
  trustProxy: readonly string[];
  bcryptCost: number;
  /** Worker threads for bcrypt (0: libuv's pool) and their nice value. */
  bcryptThreads: number;
  bcryptThreadNice: number;
  /** Worker threads for SAML response validation (0: on the event loop). */
  samlValidationThreads: number;
  logLevel: string;
  dataDir: string;
  shutdownGraceMs: number;
  jsonBodyLimitBytes: number;
  passwordMinLength: number;
  /** Range API base URL of the breach check; undefined when disabled. */
  breachCheck?: { url: string; onUnavailable: "allow" | "refuse"; timeoutMs: number };
}>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment once. Every problem names its variable; none is silently defaulted. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${String(issue.path[0] ?? "env")}: ${issue.message}`));
  }
  const raw = parsed.data;
  const problems: string[] = [];
  const publicUrl = (raw.PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, "");

  for (const region of Object.keys(raw.REGION_URLS)) {
    if (!raw.REGIONS.includes(region)) problems.push(`REGION_URLS: region "${region}" is not listed in REGIONS`);
  }
  for (const entry of raw.TRUST_PROXY) {
    if (!isTrustProxyEntry(entry)) problems.push(`TRUST_PROXY: "${entry}" is not an IP, a CIDR or "loopback"`);
  }
  problems.push(...redisProblems(raw));
  if (raw.NODE_ENV === "production") problems.push(...productionProblems(raw, publicUrl));
  if (problems.length > 0) throw new ConfigError(problems);

  const regionUrls = Object.fromEntries(raw.REGIONS.map((r) => [r, raw.REGION_URLS[r] ?? publicUrl]));
  return Object.freeze({
    env: raw.NODE_ENV,
    host: raw.HOST ?? (raw.NODE_ENV === "production" ? "0.0.0.0" : "127.0.0.1"),
    port: raw.PORT,
    publicUrl,
    secureCookies: publicUrl.startsWith("https:"),
    regions: Object.freeze([...raw.REGIONS]),
    regionUrls: Object.freeze(regionUrls),
    databaseUrl: raw.DATABASE_URL,
    databasePoolMax: raw.DATABASE_POOL_MAX,
    redis: redisTarget(raw),
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    sessionReadCacheEntries: raw.SESSION_READ_CACHE_ENTRIES,
    smtpUrl: raw.SMTP_URL,
    mailFrom: raw.MAIL_FROM,
    secretKeys: raw.SECRET_KEYS,
    bootstrapAdminToken: raw.BOOTSTRAP_ADMIN_TOKEN,
    trustProxy: Object.freeze([...raw.TRUST_PROXY]),
    bcryptCost: raw.BCRYPT_COST,
    bcryptThreads: raw.BCRYPT_THREADS ?? availableParallelism(),
    bcryptThreadNice: raw.BCRYPT_THREAD_NICE,
    samlValidationThreads: raw.SAML_VALIDATION_THREADS ?? availableParallelism(),
    logLevel: raw.LOG_LEVEL,
    dataDir: raw.DATA_DIR,
    shutdownGraceMs: raw.SHUTDOWN_GRACE_MS,
    jsonBodyLimitBytes: raw.JSON_BODY_LIMIT_KB * 1024,
    passwordMinLength: raw.PASSWORD_MIN_LENGTH,
    breachCheck: raw.BREACH_CHECK_URL
      ? { url: raw.BREACH_CHECK_URL, onUnavailable: raw.BREACH_CHECK_ON_UNAVAILABLE, timeoutMs: raw.BREACH_CHECK_TIMEOUT_MS }
      : undefined,
  });
}

function productionProblems(raw: z.infer<typeof envSchema>, publicUrl: string): string[] {
  const problems: string[] = [];
  const embedded = "production refuses the embedded default";
  if (!raw.DATABASE_URL) problems.push(`DATABASE_URL: required (${embedded}: PGlite)`);
  if (!REDIS_MODES.some((name) => raw[name] !== undefined)) problems.push(`REDIS_URL: required, or REDIS_CLUSTER_NODES or REDIS_SENTINELS (${embedded}: in-process store)`);
  if (!raw.SMTP_URL) problems.push(`SMTP_URL: required (${embedded}: mail written to files)`);
  if (!raw.SECRET_KEYS) problems.push("SECRET_KEYS: required (production never generates secrets)");
  if (!raw.PUBLIC_URL) problems.push("PUBLIC_URL: required in production");
  else if (!publicUrl.startsWith("https:")) problems.push("PUBLIC_URL: must be https in production");
  if (raw.BCRYPT_COST < 10) problems.push("BCRYPT_COST: must be at least 10 in production");
  return problems;
}

const REDIS_MODES = ["REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"] as const;

function redisProblems(raw: z.infer<typeof envSchema>): string[] {
  const problems: string[] = [];
  const chosen = REDIS_MODES.filter((name) => raw[name] !== undefined);
  if (chosen.length > 1) problems.push(`${chosen[1]}: set only one of ${REDIS_MODES.join(", ")} (${chosen.join(" and ")} are set)`);
  if (raw.REDIS_SENTINELS && !raw.REDIS_SENTINEL_NAME) problems.push("REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the master name the sentinels monitor)");
  if (!raw.REDIS_SENTINELS) {
    for (const name of ["REDIS_SENTINEL_NAME", "REDIS_SENTINEL_PASSWORD"] as const) {
      if (raw[name] !== undefined) problems.push(`${name}: only used with REDIS_SENTINELS`);
    }
  }
  if (!raw.REDIS_CLUSTER_NODES && !raw.REDIS_SENTINELS) {
    // One place per setting: a single node's credentials and TLS live in REDIS_URL.
    const stray = (["REDIS_USERNAME", "REDIS_PASSWORD", "REDIS_TLS"] as const).filter((name) => raw[name]);
    for (const name of stray) problems.push(`${name}: only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS; for one node put it in REDIS_URL (rediss://user:password@host:port)`);
  }
  return problems;
}

function redisTarget(raw: z.infer<typeof envSchema>): RedisTarget | undefined {
  const auth: RedisAuth = { username: raw.REDIS_USERNAME, password: raw.REDIS_PASSWORD, tls: raw.REDIS_TLS };
  if (raw.REDIS_URL) return { mode: "single", url: raw.REDIS_URL };
  if (raw.REDIS_CLUSTER_NODES) return { mode: "cluster", nodes: raw.REDIS_CLUSTER_NODES, ...auth };
  if (raw.REDIS_SENTINELS && raw.REDIS_SENTINEL_NAME) {
    return { mode: "sentinel", sentinels: raw.REDIS_SENTINELS, masterName: raw.REDIS_SENTINEL_NAME, sentinelPassword: raw.REDIS_SENTINEL_PASSWORD, ...auth };
  }
  return undefined;
}

function isTrustProxyEntry(entry: string): boolean {
  if (entry === "loopback") return true;
  if (isIP(entry) !== 0) return true;
  try {
    ipaddr.parseCIDR(entry);
    return true;
  } catch {
    return false;
  }
}
