import type { Request, Response } from "express";
import type { AuditStore } from "../../audit/audit.store";
import { AppError, isAppError } from "../../platform/errors";
import { renderMessagePage } from "../../platform/http/page";
import type { SsoConnectionRow } from "../connection.store";
import type { ExternalIdentityStore } from "../external-identity.store";
import type { SsoProtocolDeps } from "../sso.routes";
import { SsoRefused } from "../sso-errors";
import type { TenantRow } from "../../tenants/tenant.store";
import { acceptAssertionOnce } from "./assertion-replay";
import { endIdpSessions } from "./idp-logout";
import { connectionOfIssuer, type IssuerConnectionDeps } from "./issuer-connection";
import { checkLogoutRequest, checkLogoutResponse, type LogoutExpected } from "./logout-checks";
import { recordLogoutRefusal, type LogoutRefusal } from "./logout-refusal";
import { buildLogoutResponseUrl, logoutRequestCache } from "./saml-logout";
import { spEndpoints } from "./saml-settings";
import { childElement, parseSamlXml, SAML, textOf } from "./saml-xml";
import { readPostMessage, readRedirectMessage, type SloKind, type SloMessage } from "./slo-message";
import { verifiedLogoutMessage } from "./slo-signature";
import type { SpSigningKey } from "./sp-signing-key";

export type SloDeps = Pick<SsoProtocolDeps, "db" | "kv" | "clock" | "logger" | "publicUrl" | "login" | "http" | "sessions"> & {
  spKey: () => Promise<SpSigningKey>;
  identities: Pick<ExternalIdentityStore, "findBySubject">;
  auditStore: AuditStore;
} & IssuerConnectionDeps;

type Target = { tenant: TenantRow; connection: SsoConnectionRow };

/** A logout message was refused: shown as a readable 4xx page; `reason` goes to the log and the audit trail. */
export class SloRefused extends AppError {
  constructor(readonly reason: string, message = "The sign-out message from your identity provider was refused.") {
    super("sso_response_invalid", message);
  }
}

/**
 * GET and POST /sso/{tenant}/saml/slo, the SP's SingleLogoutService (HTTP-Redirect and HTTP-POST).
 * Either the IdP's LogoutResponse to our LogoutRequest (the user logged out here first), or the IdP's
 * own LogoutRequest (the user logged out at the IdP or at another SP). Steps: read the binding (size,
 * DOCTYPE) -> choose the tenant's connection its Issuer names -> verify the signature against that
 * connection's certificates -> check the signed Issuer, Destination, times -> match InResponseTo once /
 * end the sessions -> answer. Every refusal is audited (`sso.logout.failed`, counted in the connection's
 * health). SLO is rare: node-saml and XML parsing run on the event loop here, unlike the ACS.
 */
export function createSamlSlo(deps: SloDeps) {
  return async function singleLogout(req: Request, res: Response): Promise<void> {
    const first = await deps.login.connectionFor(String(req.params.tenant).toLowerCase(), "saml");
    if (!first) throw new AppError("not_found", "Single sign-on is not available for this account.");
    res.set("Cache-Control", "no-store");
    const binding = req.method === "GET" ? ("redirect" as const) : ("post" as const);
    // Whom a refusal is counted against: the tenant's first connection until the message names another.
    let where: Target = first;
    let kind: SloKind | undefined;
    try {
      const message = binding === "redirect" ? readRedirectMessage(req.originalUrl) : readPostMessage(req.body);
      kind = message.kind;
      const received = parseSamlXml(message.xml);
      // Which of the tenant's IdPs the message claims to be from; the checks below hold it to that claim.
      const claimed = textOf(childElement(received, SAML, "Issuer"));
      where = { tenant: first.tenant, connection: await connectionOfIssuer(deps, first.connection, claimed || undefined) };
      const { idpEntityId } = where.connection;
      if (!idpEntityId) throw new SsoRefused("connection_incomplete");
      const root = verifiedLogoutMessage(message, received, where.connection.certificates);
      const expected: LogoutExpected = { idpEntityId, sloUrl: spEndpoints(deps.publicUrl, where.tenant.slug).sloUrl, now: deps.clock.now().getTime() };
      if (message.kind === "LogoutResponse") await acceptLogoutResponse(deps, where, root, expected, res);
      else await answerLogoutRequest(deps, where, { root, message, expected }, res);
    } catch (error) {
      const reason = refusalReason(error);
      if (reason === undefined) throw error;
      await recordRefusal(deps, res, { tenantId: where.tenant.id, connectionId: where.connection.id, reason, message: kind, binding });
      throw error instanceof SsoRefused ? new SloRefused(reason) : error;
    }
  };
}

/** Logged and audited with the facts of the decision only (never the message: a forged one is attacker text). */
async function recordRefusal(deps: SloDeps, res: Response, refusal: LogoutRefusal): Promise<void> {
  const { tenantId, connectionId, reason, message, binding } = refusal;
  deps.logger.warn({ tenantId, connectionId, reason, kind: message, binding }, "SAML logout message refused");
  const client = deps.http.clientOf(res);
  await recordLogoutRefusal(deps, { actor: { type: "anonymous" }, ip: client.ip, requestId: client.requestId }, refusal);
}

/** The reason a logout message was refused, or undefined for an error that is not a refusal. */
function refusalReason(error: unknown): string | undefined {
  if (error instanceof SsoRefused) return error.reason;
  // A redirect message that would inflate beyond the body limit (413).
  if (isAppError(error) && error.code === "payload_too_large") return "too_large";
  return undefined;
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
