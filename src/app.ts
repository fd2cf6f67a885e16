import type { IncomingMessage, ServerResponse } from "node:http";
import express from "express";
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
import { authenticatorRouter } from "./mfa/authenticator.routes";
import type { Session } from "./sessions/session";
import { createForwardAuth } from "./sessions/forward-auth";
import { createSessionCheck } from "./sessions/session-check";
import { currentSessionRouter } from "./sessions/session-check.routes";
import { loadSession } from "./sessions/session.middleware";
import { oidcRouter } from "./apps/oidc.routes";
import { createOidcProtocol } from "./sso/oidc/oidc.protocol";
import { createSamlProtocol } from "./sso/saml/saml.protocol";
import { createSsoHttp } from "./sso/sso-http";
import { ssoLogoutUrl, ssoRouter, type SsoProtocolDeps } from "./sso/sso.routes";
import { SecretBox } from "./platform/crypto";

export type AppDeps = {
  config: Config & { secretKeys: readonly SecretKey[] };
  logger: Logger;
  metrics: HttpMetrics;
  readiness: ReadinessCheck[];
  isShuttingDown: () => boolean;
  container: Container;
};

/** What a Node HTTP server (or supertest) calls for each request. */
export type GatehouseApp = (req: IncomingMessage, res: ServerResponse) => void;

/** Builds the HTTP app from already-wired services; never listens. */
export function createApp(deps: AppDeps): GatehouseApp {
  const { config, container } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  configureTrustProxy(app, config.trustProxy);

  const cookies = createBrowserCookies({ secure: config.secureCookies });
  const sessionCheck = createSessionCheck({ sessions: container.sessions, cookies, identityOf: (session: Session) => container.account.identityOf(session) });
  app.use(opsRouter({ checks: deps.readiness, metrics: deps.metrics.registry, isShuttingDown: deps.isShuttingDown }));
  app.use(requestContext(deps.logger));
  app.use(deps.metrics.middleware);
  app.use(securityHeaders());
  // Before the admin API's key check: this one is authenticated by the browser's cookie.
  app.use(currentSessionRouter(sessionCheck));
  app.use("/api/v1", adminRouter({ ...container, regions: config.regions, jsonBodyLimitBytes: config.jsonBodyLimitBytes }));

  const csrf = createCsrf({ key: deriveKey(config.secretKeys[0]!, "csrf"), allowedOrigins: [config.publicUrl, ...Object.values(config.regionUrls)] });
  const views = createViews();
  app.use("/assets", express.static(findProjectDir("public"), { index: false, maxAge: "1h" }));
  app.use(loadSession({ sessions: container.sessions, cookies }));
  // Before the rotation gate: the provider refuses restricted sessions itself, answering the app with access_denied.
  app.use(oidcRouter({
    op: container.openIdProvider, interactions: container.oidcInteractions, account: container.account, cookies, csrf, views, logger: deps.logger, publicUrl: config.publicUrl,
  }));
  app.use(enforcePasswordRotation);
  app.use(loginEntryRouter({ entry: container.loginEntry, cookies, csrf, views }));
  app.use(localLoginRouter({ login: container.localLogin, regions: config.regions, cookies, csrf, views }));
  app.use(passwordRouter({ reset: container.passwordReset, change: container.passwordChange, regions: config.regions, minLength: config.passwordMinLength, cookies, csrf, views }));
  const ssoHttp = createSsoHttp({ login: container.ssoLogin, cookies, views, regionUrls: config.regionUrls });
  const { db, kv, clock } = container.infra;
  const protocolDeps: SsoProtocolDeps = {
    db, kv, clock, logger: deps.logger, publicUrl: config.publicUrl, secretBox: new SecretBox(config.secretKeys),
    login: container.ssoLogin, flows: container.ssoFlows, http: ssoHttp, cookies, allowHttpIssuers: config.env !== "production", samlValidator: container.samlValidator, throttle: container.throttle,
    sessions: container.sessions,
  };
  const protocols = { saml: createSamlProtocol({ ...protocolDeps, spKeys: container.samlSpKeys }), oidc: createOidcProtocol(protocolDeps) };
  app.use(ssoRouter({ login: container.ssoLogin, cookies, protocols }));
  app.use(authenticatorRouter({ replacement: container.authenticatorReplacement, cookies, csrf, views }));
  app.use(accountRouter({ account: container.account, recoveryCodes: container.recoveryCodes, recoveryNotices: container.recoveryNotices, cookies, csrf, views, idpLogoutUrl: ssoLogoutUrl(protocols) }));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));

  // Forward auth is the hot path: ahead of everything else, Express included.
  const forwardAuth = createForwardAuth({ check: sessionCheck, logger: deps.logger });
  return (req, res) => {
    if (!forwardAuth(req, res)) app(req, res);
  };
}
