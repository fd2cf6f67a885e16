import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { envSchema } from "./schema";

export type SecretKey = { id: string; key: Buffer };

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
  redisUrl?: string;
  redisKeyPrefix: string;
  smtpUrl?: string;
  mailFrom: string;
  /** First key encrypts; all keys decrypt. Absent in development until generated under dataDir. */
  secretKeys?: readonly SecretKey[];
  bootstrapAdminToken?: string;
  trustProxy: readonly string[];
  bcryptCost: number;
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
    redisUrl: raw.REDIS_URL,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    smtpUrl: raw.SMTP_URL,
    mailFrom: raw.MAIL_FROM,
    secretKeys: raw.SECRET_KEYS,
    bootstrapAdminToken: raw.BOOTSTRAP_ADMIN_TOKEN,
    trustProxy: Object.freeze([...raw.TRUST_PROXY]),
    bcryptCost: raw.BCRYPT_COST,
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
  if (!raw.REDIS_URL) problems.push(`REDIS_URL: required (${embedded}: in-process store)`);
  if (!raw.SMTP_URL) problems.push(`SMTP_URL: required (${embedded}: mail written to files)`);
  if (!raw.SECRET_KEYS) problems.push("SECRET_KEYS: required (production never generates secrets)");
  if (!raw.PUBLIC_URL) problems.push("PUBLIC_URL: required in production");
  else if (!publicUrl.startsWith("https:")) problems.push("PUBLIC_URL: must be https in production");
  if (raw.BCRYPT_COST < 10) problems.push("BCRYPT_COST: must be at least 10 in production");
  return problems;
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
