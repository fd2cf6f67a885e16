import { z } from "zod";

const REGION = /^[a-z][a-z0-9-]{1,15}$/;

const list = (value: string | undefined): string[] =>
  (value ?? "").split(",").map((item) => item.trim()).filter((item) => item.length > 0);

const urlWithProtocols = (protocols: string[]) =>
  z.url({ error: `must be a URL (${protocols.join(", ")})` }).refine(
    (value) => protocols.includes(new URL(value).protocol),
    { error: `must use ${protocols.join(" or ")}` },
  );

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)$/;

// Entries are not echoed: a URL with a password pasted here by mistake must not reach the logs.
const hostPorts = z.string().transform((value, ctx) => {
  const nodes = list(value).map((entry, i) => {
    const colon = entry.lastIndexOf(":");
    const host = entry.slice(0, colon);
    const port = Number(entry.slice(colon + 1));
    if (colon < 1 || !HOST.test(host) || !/^\d{1,5}$/.test(entry.slice(colon + 1)) || port < 1 || port > 65535) {
      ctx.addIssue({ code: "custom", message: `entry ${i + 1} is not host:port (IPv6 as [address]:port)` });
    }
    return { host: host.replace(/^\[(.*)\]$/, "$1"), port };
  });
  if (nodes.length === 0) ctx.addIssue({ code: "custom", message: "needs at least one host:port" });
  return nodes;
});

const secretKeys = z.string().transform((value, ctx) => {
  const keys = list(value).map((entry) => {
    const [id, material] = entry.split(":", 2);
    const bytes = Buffer.from(material ?? "", "base64");
    if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || bytes.length !== 32) {
      ctx.addIssue({ code: "custom", message: "each entry must be <keyId>:<32 bytes in base64>" });
    }
    return { id: id ?? "", key: bytes };
  });
  if (keys.length === 0) ctx.addIssue({ code: "custom", message: "needs at least one <keyId>:<base64 key>" });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) ctx.addIssue({ code: "custom", message: "key ids must be unique" });
  return keys;
});

const regionUrls = z.string().transform((value, ctx) => {
  const map: Record<string, string> = {};
  for (const entry of list(value)) {
    const eq = entry.indexOf("=");
    const region = entry.slice(0, eq).trim();
    const url = entry.slice(eq + 1).trim();
    if (eq < 1 || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      ctx.addIssue({ code: "custom", message: `"${entry}" is not <region>=<http(s) URL>` });
      continue;
    }
    map[region] = url.replace(/\/+$/, "");
  }
  return map;
});

/** The environment, as read. Defaults that depend on other values are filled in `load.ts`. */
export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().min(1).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: urlWithProtocols(["http:", "https:"]).optional(),
  REGIONS: z
    .string()
    .default("us,eu,au")
    .transform(list)
    .refine((regions) => regions.length > 0, { error: "needs at least one region" })
    .refine((regions) => regions.every((r) => REGION.test(r)), { error: "regions are lower-case names like us,eu,au" })
    .refine((regions) => new Set(regions).size === regions.length, { error: "regions must be unique" }),
  REGION_URLS: regionUrls.default({}),
  DATABASE_URL: urlWithProtocols(["postgres:", "postgresql:"]).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  REDIS_URL: urlWithProtocols(["redis:", "rediss:"]).optional(),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{0,64}$/).default("gh:"),
  /** Redis Cluster seed nodes; the client discovers the others. Exclusive with REDIS_URL and REDIS_SENTINELS. */
  REDIS_CLUSTER_NODES: hostPorts.optional(),
  /** Sentinels asked for the current master named REDIS_SENTINEL_NAME. */
  REDIS_SENTINELS: hostPorts.optional(),
  REDIS_SENTINEL_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "letters, digits, '.', '_', '-'; at most 64" }).optional(),
  /** Credentials and TLS of cluster and sentinel mode; a single node takes them from REDIS_URL. */
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  REDIS_TLS: z.stringbool({ error: "must be true or false" }).default(false),
  /** Sessions kept in this process while Redis reports their changes (one node only); 0 turns the copies off. */
  SESSION_READ_CACHE_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10000),
  SMTP_URL: urlWithProtocols(["smtp:", "smtps:"]).optional(),
  MAIL_FROM: z.string().min(3).default("Gatehouse <no-reply@localhost>"),
  SECRET_KEYS: secretKeys.optional(),
  BOOTSTRAP_ADMIN_TOKEN: z.string().min(32, { error: "must be at least 32 characters" }).optional(),
  TRUST_PROXY: z.string().default("").transform(list),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  /** Low-priority worker threads for bcrypt; 0 runs it on libuv's pool instead. Default: one per CPU. */
  BCRYPT_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  /** Worker threads that validate SAML responses; 0 validates on the event loop. Default: one per CPU. */
  SAML_VALIDATION_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  /** The nice value of those threads (Linux), so session checks never wait behind bcrypt. */
  BCRYPT_THREAD_NICE: z.coerce.number().int().min(0).max(19).default(19),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATA_DIR: z.string().min(1).default(".data"),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120000).default(10000),
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8, { error: "must be at least 8 (NIST SP 800-63B)" }).max(256).default(12),
  // Empty disables the breach check; the default is the Have I Been Pwned range API.
  BREACH_CHECK_URL: z.union([z.literal(""), urlWithProtocols(["http:", "https:"])]).default("https://api.pwnedpasswords.com/range/"),
  BREACH_CHECK_ON_UNAVAILABLE: z.enum(["allow", "refuse"]).default("allow"),
  BREACH_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).max(10000).default(2000),
  JSON_BODY_LIMIT_KB: z.coerce.number().int().min(1).max(10240).default(100),
});

export type RawEnv = z.infer<typeof envSchema>;
