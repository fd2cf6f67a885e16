import type { Request, Response } from "express";
import type { AuditStore } from "../../audit/audit.store";
import { AppError } from "../../platform/errors";
import { renderMessagePage } from "../../platform/http/page";
import type { SsoConnectionRow } from "../connection.store";
import type { ExternalIdentityStore } from "../external-identity.store";
import type { SsoProtocolDeps } from "../sso.routes";
import { SsoRefused } from "../sso-errors";
import type { TenantRow } from "../../tenants/tenant.store";
import { acceptAssertionOnce } from "./assertion-replay";
import { endIdpSessions } from "./idp-logout";
import { checkLogoutRequest, checkLogoutResponse, type LogoutExpected } from "./logout-checks";
import { buildLogoutResponseUrl, logoutRequestCache } from "./saml-logout";
import { spEndpoints } from "./saml-settings";
import { readPostMessage, readRedirectMessage, type SloMessage } from "./slo-message";
import { verifiedLogoutMessage } from "./slo-signature";
import type { SpSigningKey } from "./sp-signing-key";

export type SloDeps = Pick<SsoProtocolDeps, "db" | "kv" | "clock" | "logger" | "publicUrl" | "login" | "http" | "sessions"> & {
  spKey: () => Promise<SpSigningKey>;
  identities: Pick<ExternalIdentityStore, "findBySubject">;
  auditStore: AuditStore;
};

type Target = { tenant: TenantRow; connection: SsoConnectionRow };

/** A logout message was refused: shown as a readable 4xx page; `reason` goes to the log. */
export class SloRefused extends AppError {
  constructor(readonly reason: string, message = "The sign-out message from your identity provider was refused.") {
    super("sso_response_invalid", message);
  }
}

/**
 * GET and POST /sso/{tenant}/saml/slo, the SP's SingleLogoutService (HTTP-Redirect and HTTP-POST).
 * Either the IdP's LogoutResponse to our LogoutRequest (the user logged out here first), or the IdP's
 * own LogoutRequest (the user logged out at the IdP or at another SP). Steps: read the binding (size,
 * DOCTYPE) -> verify the signature against the connection's certificates -> check Issuer, Destination,
 * times -> match InResponseTo once / end the sessions -> answer. SLO is rare: node-saml and XML parsing
 * run on the event loop here, unlike the ACS.
 */
export function createSamlSlo(deps: SloDeps) {
  return async function singleLogout(req: Request, res: Response): Promise<void> {
    const target = await deps.login.connectionFor(String(req.params.tenant).toLowerCase(), "saml");
    if (!target) throw new AppError("not_found", "Single sign-on is not available for this account.");
    res.set("Cache-Control", "no-store");
    try {
      const message = req.method === "GET" ? readRedirectMessage(req.originalUrl) : readPostMessage(req.body);
      const { idpEntityId } = target.connection;
      if (!idpEntityId) throw new SsoRefused("connection_incomplete");
      const root = verifiedLogoutMessage(message, target.connection.certificates);
      const expected: LogoutExpected = { idpEntityId, sloUrl: spEndpoints(deps.publicUrl, target.tenant.slug).sloUrl, now: deps.clock.now().getTime() };
      if (message.kind === "LogoutResponse") await acceptLogoutResponse(deps, target, root, expected, res);
      else await answerLogoutRequest(deps, target, { root, message, expected }, res);
    } catch (error) {
      if (!(error instanceof SsoRefused)) throw error;
      deps.logger.warn({ tenantId: target.tenant.id, connectionId: target.connection.id, reason: error.reason }, "SAML logout message refused");
      throw new SloRefused(error.reason);
    }
  };
}

/** Our LogoutRequest came back answered: its ID is taken from the cache (single use, this tenant only). */
async function acceptLogoutResponse(deps: SloDeps, target: Target, root: Element, expected: LogoutExpected, res: Response): Promise<void> {
  const { inResponseTo, success } = checkLogoutResponse(root, expected);
  const sent = await logoutRequestCache(deps.kv, target.tenant.id).removeAsync(inResponseTo);
  if (!sent) throw new SsoRefused("unknown_in_response_to");
  // Our session ended before the browser went to the IdP; only the IdP's side may be incomplete.
  if (!success) throw new SloRefused("idp_status", "You are signed out here, but your identity provider could not end every session. Close your browser to be sure.");
  res.redirect(303, `/login?tenant=${encodeURIComponent(target.tenant.slug)}`);
}

/**
 * The IdP asks us to end the user's sessions. Each request ID is accepted once per connection (a replay
 * could otherwise end sessions made after it). The answer goes back over HTTP-Redirect, signed.
 */
async function answerLogoutRequest(deps: SloDeps, target: Target, input: { root: Element; message: SloMessage; expected: LogoutExpected }, res: Response): Promise<void> {
  const { tenant, connection } = target;
  const request = checkLogoutRequest(input.root, input.expected);
  await acceptAssertionOnce(deps.kv, { connectionId: connection.id, assertionId: request.id, refusedAfter: request.refusedAfter, now: input.expected.now });
  const client = deps.http.clientOf(res);
  const context = { actor: { type: "system" as const, id: `sso_connection:${connection.id}` }, ip: client.ip, requestId: client.requestId };
  await endIdpSessions(deps, { tenantId: tenant.id, connectionId: connection.id, request, context });
  const location = await buildLogoutResponseUrl({
    requestId: request.id, relayState: input.message.relayState, tenantSlug: tenant.slug, connection, publicUrl: deps.publicUrl, key: await deps.spKey(),
  });
  if (location) {
    res.redirect(303, location);
    return;
  }
  // No SLO endpoint to answer at: the request was genuine, so the sessions end all the same; the IdP's
  // logout chain stops in this browser, which is told where it stands rather than shown an error.
  deps.logger.warn({ tenantId: tenant.id, connectionId: connection.id }, "SAML connection has no SLO URL: the LogoutResponse cannot be delivered");
  res.status(200).type("html").send(renderMessagePage({ title: "Signed out", message: "You are signed out. Close this window to finish signing out at your identity provider." }));
}
