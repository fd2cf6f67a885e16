import type { AuthThrottle } from "../platform/throttle/throttle";
import { Router, type Request, type Response } from "express";
import type { Clock } from "../platform/clock";
import type { SecretBox } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import type { BrowserCookies } from "../platform/http/browser-cookies";
import type { KvStore } from "../platform/kv/kv-store";
import type { Logger } from "../platform/logger";
import type { Session } from "../sessions/session";
import type { SessionService } from "../sessions/session.service";
import { safeReturnTo } from "../platform/http/return-to";
import type { TenantRow } from "../tenants/tenant.store";
import type { SsoConnectionRow } from "./connection.store";
import type { SamlValidator } from "./saml/saml-validator";
import type { SsoFlowStore } from "./sso-flow.store";
import type { SsoHttp } from "./sso-http";
import type { SsoLoginService } from "./sso-login.service";

/** What every protocol module is built from (wired in container.ts and app.ts). */
export type SsoProtocolDeps = {
  db: Db;
  kv: KvStore;
  clock: Clock;
  logger: Logger;
  /** PUBLIC_URL, no trailing slash: entity IDs, ACS and redirect URIs derive from it. */
  publicUrl: string;
  secretBox: SecretBox;
  login: SsoLoginService;
  flows: SsoFlowStore;
  http: SsoHttp;
  cookies: BrowserCookies;
  /** SAML single logout ends the sessions an IdP names. */
  sessions: SessionService;
  /** Validates SAML responses (on worker threads unless configured otherwise). */
  samlValidator: SamlValidator;
  /** Counts failures to decrypt SAML assertions (a padding oracle needs many). */
  throttle: AuthThrottle;
  /** Plain-http IdP endpoints (development and tests only; never in production, as for discovery on save). */
  allowHttpIssuers?: boolean;
};

export type BeginInput = {
  tenant: TenantRow;
  connection: SsoConnectionRow;
  returnTo: string;
  browserId: string;
  /** Authentication contexts to ask the IdP for (step-up: the app wants a second factor); empty: none asked. */
  authnContexts: string[];
  req: Request;
  res: Response;
};

/** One protocol's way to send a browser to the IdP; its own endpoints come as a router. */
export interface SsoProtocol {
  /** Stores the flow server-side and returns the IdP URL to redirect the browser to. */
  begin(input: BeginInput): Promise<string>;
  router: Router;
  /** The IdP's logout URL for a session of this protocol (SAML SLO, OIDC end_session), or null. */
  logoutUrl?(session: Session): Promise<string | null>;
}

/** Starts a login over without step-up contexts and sends the browser to the IdP (see stepUpFallback). */
export type RestartWithoutStepUp = (input: Omit<BeginInput, "authnContexts" | "browserId">) => Promise<void>;

/** A protocol's `begin` for logins whose IdP said it cannot give the step-up contexts asked of it. */
export function restartWithoutStepUp(begin: SsoProtocol["begin"], deps: { cookies: BrowserCookies; logger: Logger }): RestartWithoutStepUp {
  return async (input) => {
    deps.logger.info({ tenantId: input.tenant.id, connectionId: input.connection.id }, "the IdP cannot give the step-up context asked for: login started over without it; the local second factor follows");
    const browserId = deps.cookies.ensureBrowserId(input.req, input.res);
    input.res.redirect(303, await begin({ ...input, browserId, authnContexts: [] }));
  };
}

/** Continues a logout at the IdP of an SSO session, when its connection offers single logout. */
export function ssoLogoutUrl(protocols: { saml: SsoProtocol; oidc: SsoProtocol }) {
  return async (session: Session): Promise<string | null> => {
    if (!session.sso || session.method === "password") return null;
    const protocol = protocols[session.method];
    return protocol.logoutUrl ? protocol.logoutUrl(session) : null;
  };
}

type Deps = { login: SsoLoginService; cookies: BrowserCookies; protocols: { saml: SsoProtocol; oidc: SsoProtocol } };

/** `/sso/{tenant}/start` and each protocol's endpoints under `/sso/{tenant}/...`. */
export function ssoRouter(deps: Deps): Router {
  const router = Router();

  router.get("/sso/:tenant/start", async (req, res) => {
    const { tenant, connection } = await deps.login.target(String(req.params.tenant).toLowerCase());
    const returnTo = safeReturnTo(req.query.return_to, { fallback: "/account" });
    const protocol = connection.type === "oidc" ? deps.protocols.oidc : deps.protocols.saml;
    const authnContexts = await deps.login.stepUpContextsFor(connection, returnTo);
    const location = await protocol.begin({ tenant, connection, returnTo, browserId: deps.cookies.ensureBrowserId(req, res), authnContexts, req, res });
    res.set("Cache-Control", "no-store");
    res.redirect(303, location);
  });

  router.use(deps.protocols.saml.router);
  router.use(deps.protocols.oidc.router);
  return router;
}
