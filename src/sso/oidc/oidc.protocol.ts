import * as oidc from "openid-client";
import { AppError } from "../../platform/errors";
import { contextOf } from "../../platform/http/request-context";
import { SsoRefused } from "../sso-errors";
import { restartWithoutStepUp, type BeginInput, type SsoProtocol, type SsoProtocolDeps } from "../sso.routes";
import { startAuthorization } from "./oidc-authorization";
import { createOidcCallback } from "./oidc-callback";
import { clientConfiguration } from "./oidc-client";
import { createIssuerCache } from "./oidc-issuers";
import { createTransactionCookie, oidcRouter } from "./oidc.routes";

/**
 * The OpenID Connect relying party for tenants' IdPs (openid-client): `begin` sends the browser to the
 * IdP, the router's callback turns its answer into a session or a refusal page.
 */
export function createOidcProtocol(deps: SsoProtocolDeps): SsoProtocol {
  const allowHttp = deps.allowHttpIssuers === true;
  const issuers = createIssuerCache({ clock: deps.clock, allowHttp });
  const transaction = createTransactionCookie({ secure: deps.cookies.secure, maxAgeMs: deps.flows.ttlMs });
  const callback = createOidcCallback({ flows: deps.flows, login: deps.login, issuers, secretBox: deps.secretBox, publicUrl: deps.publicUrl, allowHttp });

  async function begin(input: BeginInput): Promise<string> {
    const { tenant, connection } = input;
    let config;
    try {
      const entry = await issuers.get(connection.issuer ?? "", connection.clientId ?? "");
      config = clientConfiguration(entry, connection, { secretBox: deps.secretBox, allowHttp });
    } catch (error) {
      // Counted towards the connection's health like a refused callback (after repeated failures the SSO pages offer break-glass).
      const ctx = contextOf(input.res);
      const reason = error instanceof SsoRefused ? error.reason : "discovery_failed";
      await deps.login.recordFailure({ tenantId: tenant.id, connectionId: connection.id, protocol: "oidc", reason, client: { ip: ctx.ip, userAgent: ctx.userAgent, requestId: ctx.requestId } });
      if (error instanceof SsoRefused) throw error;
      throw new AppError("service_unavailable", "Your organisation's identity provider cannot be reached at the moment. Try again shortly.", { cause: error, expose: true, headers: { "Retry-After": "30" } });
    }
    const { url, state } = await startAuthorization({ clock: deps.clock, flows: deps.flows, publicUrl: deps.publicUrl }, { ...input, config });
    transaction.add(input.req, input.res, state);
    return url;
  }

  return {
    begin,
    /** RP-initiated logout at the IdP's end_session endpoint, when its discovery document has one. */
    async logoutUrl(session) {
      if (session.method !== "oidc" || !session.sso) return null;
      const connection = await deps.db.ssoConnection.findFirst({ where: { id: session.sso.connectionId, tenantId: session.tenantId, type: "oidc" } });
      if (!connection?.issuer || !connection.clientId) return null;
      const entry = await issuers.get(connection.issuer, connection.clientId);
      if (!entry.metadata.end_session_endpoint) return null;
      const config = clientConfiguration(entry, connection, { secretBox: deps.secretBox, allowHttp });
      // No post_logout_redirect_uri: it would have to be registered at the IdP; the IdP shows its own page.
      const hint: Record<string, string> = session.sso.idTokenHint ? { id_token_hint: session.sso.idTokenHint } : {};
      return oidc.buildEndSessionUrl(config, { client_id: connection.clientId, ...hint }).toString();
    },
    router: oidcRouter({ callback, login: deps.login, http: deps.http, cookies: deps.cookies, transaction, logger: deps.logger, restartWithoutStepUp: restartWithoutStepUp(begin, deps) }),
  };
}
