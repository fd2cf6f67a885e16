import express, { type Express } from "express";
import { adminRouter, type AdminDeps } from "./admin/admin.routes";
import { opsRouter, type ReadinessCheck } from "./ops/ops.routes";
import type { Config } from "./config/load";
import { configureTrustProxy } from "./platform/http/client-ip";
import { errorHandler, notFoundHandler } from "./platform/http/errors.middleware";
import type { HttpMetrics } from "./platform/http/metrics";
import { requestContext } from "./platform/http/request-context";
import { securityHeaders } from "./platform/http/security-headers";
import type { Logger } from "./platform/logger";

export type AppDeps = {
  config: Config;
  logger: Logger;
  metrics: HttpMetrics;
  readiness: ReadinessCheck[];
  isShuttingDown: () => boolean;
  admin: Omit<AdminDeps, "regions" | "jsonBodyLimitBytes">;
};

/** Builds the HTTP app from already-wired services; never listens. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  configureTrustProxy(app, deps.config.trustProxy);

  app.use(opsRouter({ checks: deps.readiness, metrics: deps.metrics.registry, isShuttingDown: deps.isShuttingDown }));
  app.use(requestContext(deps.logger));
  app.use(deps.metrics.middleware);
  app.use(securityHeaders());
  app.use("/api/v1", adminRouter({ ...deps.admin, regions: deps.config.regions, jsonBodyLimitBytes: deps.config.jsonBodyLimitBytes }));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
