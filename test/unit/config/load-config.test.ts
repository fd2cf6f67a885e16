import { availableParallelism } from "node:os";
import { randomBytes } from "node:crypto";
import { loadConfig } from "../../../src/config/load";
import { problemsOf } from "../../support/config";

const key = () => randomBytes(32).toString("base64");
const production = {
  NODE_ENV: "production",
  PUBLIC_URL: "https://login.example.com",
  DATABASE_URL: "postgres://gh@db.internal/gatehouse",
  REDIS_URL: "redis://cache.internal:6379",
  SMTP_URL: "smtp://mail.internal:25",
  SECRET_KEYS: `k1:${key()}`,
};

describe("configuration", () => {
  it("starts with no environment at all on development defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ env: "development", port: 3000, host: "127.0.0.1", regions: ["us", "eu", "au"], trustProxy: [], bcryptCost: 12, publicUrl: "http://localhost:3000" });
    expect(config.regionUrls).toEqual({ us: "http://localhost:3000", eu: "http://localhost:3000", au: "http://localhost:3000" });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("runs bcrypt and SAML validation on one thread per CPU by default, bcrypt at the lowest priority", () => {
    const cpus = availableParallelism();
    expect(loadConfig({})).toMatchObject({ bcryptThreads: cpus, bcryptThreadNice: 19, samlValidationThreads: cpus });
    expect(loadConfig({ BCRYPT_THREADS: "0", SAML_VALIDATION_THREADS: "0" })).toMatchObject({ bcryptThreads: 0, samlValidationThreads: 0 });
  });

  it.each([
    ["PORT", { PORT: "eighty" }],
    ["PUBLIC_URL", { PUBLIC_URL: "ftp://example.com" }],
    ["REGIONS", { REGIONS: "US,eu" }],
    ["REGION_URLS", { REGION_URLS: "us=not a url" }],
    ["REGION_URLS", { REGION_URLS: "mars=https://mars.example.com" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x/y" }],
    ["REDIS_URL", { REDIS_URL: "http://x" }],
    ["SECRET_KEYS", { SECRET_KEYS: "k1:tooshort" }],
    ["SECRET_KEYS", { SECRET_KEYS: `k1:${key()},k1:${key()}` }],
    ["BOOTSTRAP_ADMIN_TOKEN", { BOOTSTRAP_ADMIN_TOKEN: "short" }],
    ["TRUST_PROXY", { TRUST_PROXY: "10.0.0.0/99" }],
    ["BCRYPT_COST", { BCRYPT_COST: "40" }],
    ["BCRYPT_THREADS", { BCRYPT_THREADS: "-1" }],
    ["BCRYPT_THREAD_NICE", { BCRYPT_THREAD_NICE: "20" }],
    ["SAML_VALIDATION_THREADS", { SAML_VALIDATION_THREADS: "many" }],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }],
  ])("a bad %s stops start-up with a message naming it", (variable, env) => {
    const problems = problemsOf(env);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join("\n")).toContain(`${variable}:`);
  });

  it("parses region URLs, trusted proxies and secret keys", () => {
    const k = key();
    const config = loadConfig({ REGION_URLS: "eu=https://eu.example.com/", TRUST_PROXY: "loopback, 10.0.0.0/8", SECRET_KEYS: `new:${k},old:${key()}` });
    expect(config.regionUrls.eu).toBe("https://eu.example.com");
    expect(config.regionUrls.us).toBe(config.publicUrl);
    expect(config.trustProxy).toEqual(["loopback", "10.0.0.0/8"]);
    expect(config.secretKeys?.map((s) => s.id)).toEqual(["new", "old"]);
    expect(config.secretKeys?.[0]?.key.toString("base64")).toBe(k);
  });

  it("accepts a complete production environment", () => {
    const config = loadConfig(production);
    expect(config).toMatchObject({ env: "production", host: "0.0.0.0", secureCookies: true });
  });

  it.each(["DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEYS", "PUBLIC_URL"])("production refuses to start without %s (no embedded default, no generated secret)", (variable) => {
    const env: Record<string, string> = { ...production };
    delete env[variable];
    expect(problemsOf(env).some((p) => p.startsWith(`${variable}:`))).toBe(true);
  });

  it("production refuses a plain-http PUBLIC_URL and a weak bcrypt cost", () => {
    const problems = problemsOf({ ...production, PUBLIC_URL: "http://login.example.com", BCRYPT_COST: "8" });
    expect(problems.some((p) => p.startsWith("PUBLIC_URL:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("BCRYPT_COST:"))).toBe(true);
  });
});
