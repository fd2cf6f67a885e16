import express, { type Express } from "express";
import { adminRouter } from "./admin/admin.routes";
import type { Config, SecretKey } from "./config/load";
import type { Container } from "./container";
import { localLoginRouter } from "./local-login/local-login.routes";
import { loginEntryRouter } from "./local-login/login-entry.routes";
import { opsRouter, type ReadinessCheck } from "./ops/ops.routes";
import { createBrowserCookies } from "./platform/http/browser-cookies";
import { configureTrustProxy } from "./platform/http/client-ip";
import { createCsrf } from "./platform/http/csrf";
import { errorHandler, notFoundHandler } from "./platform/http/errors.middleware";
import type { HttpMetrics } from "./platform/http/metrics";
import { requestContext } from "./platform/http/request-context";
import { securityHeaders } from "./platform/http/security-headers";
import { createViews } from "./platform/http/views";
import { deriveKey } from "./platform/keys";
import type { Logger } from "./platform/logger";
import { findProjectDir } from "./platform/paths";
import { passwordRouter } from "./passwords/password.routes";
import { enforcePasswordRotation } from "./passwords/rotation.middleware";
import { accountRouter } from "./sessions/account.routes";
import { loadSession } from "./sessions/session.middleware";

export type AppDeps = {
  config: Config & { secretKeys: readonly SecretKey[] };
  logger: Logger;
  metrics: HttpMetrics;
  readiness: ReadinessCheck[];
  isShuttingDown: () => boolean;
  container: Container;
};

/** Builds the HTTP app from already-wired services; never listens. */
export function createApp(deps: AppDeps): Express {
  const { config, container } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  configureTrustProxy(app, config.trustProxy);

  app.use(opsRouter({ checks: deps.readiness, metrics: deps.metrics.registry, isShuttingDown: deps.isShuttingDown }));
  app.use(requestContext(deps.logger));
  app.use(deps.metrics.middleware);
  app.use(securityHeaders());
  app.use("/api/v1", adminRouter({ ...container, regions: config.regions, jsonBodyLimitBytes: config.jsonBodyLimitBytes }));

  const cookies = createBrowserCookies({ secure: config.secureCookies });
  const csrf = createCsrf({ key: deriveKey(config.secretKeys[0]!, "csrf"), allowedOrigins: [config.publicUrl, ...Object.values(config.regionUrls)] });
  const views = createViews();
  app.use("/assets", express.static(findProjectDir("public"), { index: false, maxAge: "1h" }));
  app.use(loadSession({ sessions: container.sessions, cookies }));
  app.use(enforcePasswordRotation);
  app.use(loginEntryRouter({ entry: container.loginEntry, cookies, csrf, views }));
  app.use(localLoginRouter({ login: container.localLogin, regions: config.regions, cookies, csrf, views }));
  app.use(passwordRouter({ reset: container.passwordReset, change: container.passwordChange, regions: config.regions, minLength: config.passwordMinLength, cookies, csrf, views }));
  app.use(accountRouter({ account: container.account, recoveryNotices: container.recoveryNotices, cookies, csrf, views }));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
