import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { GatehouseApp } from "../../src/app";
import supertest from "supertest";
import { createApp } from "../../src/app";
import { withDevSecretKeys } from "../../src/config/dev-secrets";
import { loadConfig } from "../../src/config/load";
import { createContainer, type Container } from "../../src/container";
import { ManualClock, systemClock, type Clock } from "../../src/platform/clock";
import { createHttpMetrics } from "../../src/platform/http/metrics";
import { openInfrastructure } from "../../src/platform/infrastructure";
import { createLogger } from "../../src/platform/logger";
import { expectMatchesSpec } from "./openapi";
import { redisUrl, testDatabaseUrl, testRedisPrefix } from "./test-env";

export type TestApp = {
  app: GatehouseApp;
  container: Container;
  /** Full-scope bootstrap key of this app. */
  adminToken: string;
  /** Admin API client with the bootstrap key; every /api/v1 response is checked against openapi.yaml. */
  api: () => CheckedAgent;
  dataDir: string;
  close(): Promise<void>;
};

/** A full Gatehouse on the machine's real PostgreSQL and Redis, with its own key prefix and data dir. */
export async function startTestApp(
  env: Record<string, string> = {},
  clock: Clock = systemClock,
  options: { checkDatabase?: boolean } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "gatehouse-test-"));
  const adminToken = `test-${randomBytes(24).toString("base64url")}`;
  const config = withDevSecretKeys(
    loadConfig({
      NODE_ENV: "test",
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: `${testRedisPrefix()}${randomBytes(4).toString("hex")}:`,
      DATA_DIR: dataDir,
      LOG_LEVEL: "silent",
      BCRYPT_COST: "4",
      // No network here: tests that need the breach check serve range data themselves.
      BREACH_CHECK_URL: "",
      BOOTSTRAP_ADMIN_TOKEN: adminToken,
      ...env,
    }),
  );
  const logger = createLogger({ level: config.logLevel });
  const infra = await openInfrastructure(config, logger, clock);
  const container = createContainer(infra);
  await container.apiKeys.ensureBootstrapKey(adminToken);
  const app = createApp({
    config,
    logger,
    metrics: createHttpMetrics({ sessionReadCache: () => infra.kv.readCacheStats?.() }),
    isShuttingDown: () => false,
    // The database check is opt-in: most tests share one PostgreSQL and read `checks` as { kv } only.
    readiness: [
      ...(options.checkDatabase ? [{ name: "database", check: async () => void (await infra.db.$queryRaw`SELECT 1`) }] : []),
      { name: "kv", check: () => infra.kv.ping() },
    ],
    container,
  });
  const api = () => checkedAgent(app, adminToken);
  return {
    app, container, adminToken, api, dataDir,
    async close() {
      await container.close();
      await infra.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { ManualClock };

export function uniqueSlug(prefix = "t"): string {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

type Method = "get" | "post" | "put" | "patch" | "delete";
export type CheckedAgent = Record<Method, (url: string) => supertest.Test>;

/** A supertest client whose /api/v1 responses must match openapi.yaml, whatever the test asserts. */
export function checkedAgent(app: GatehouseApp, bearer?: string): CheckedAgent {
  const agent = supertest.agent(app);
  if (bearer) agent.set("Authorization", `Bearer ${bearer}`);
  const call = (method: Method) => (url: string) =>
    agent[method](url).expect((res) => {
      if (url.startsWith("/api/v1/")) expectMatchesSpec(res, method.toUpperCase(), url);
    });
  return { get: call("get"), post: call("post"), put: call("put"), patch: call("patch"), delete: call("delete") };
}
