import type { Request, Response } from "express";
import { AppError } from "../../platform/errors";
import { contextOf } from "../../platform/http/request-context";
import { safeReturnTo } from "../../platform/http/return-to";
import type { TenantRow } from "../../tenants/tenant.store";
import type { SsoConnectionRow } from "../connection.store";
import type { RestartWithoutStepUp, SsoProtocolDeps } from "../sso.routes";
import { SsoRefused, stepUpFallback } from "../sso-errors";
import type { SsoAuthentication } from "../sso-login.service";
import type { Expected } from "./assertion-checks";
import { acceptAssertionOnce } from "./assertion-replay";
import { connectionOfIssuer, type IssuerConnectionDeps } from "./issuer-connection";
import { readPostedResponse, type PostedResponse } from "./response-envelope";
import { samlAuthentication } from "./saml-claims";
import { spEndpoints } from "./saml-settings";
import type { SpSigningKey } from "./sp-signing-key";

type AcsDeps = Pick<SsoProtocolDeps, "kv" | "clock" | "publicUrl" | "login" | "flows" | "http" | "samlValidator" | "throttle"> & IssuerConnectionDeps & {
  restartWithoutStepUp: RestartWithoutStepUp;
  /**
   * The SP's published encryption key pairs, the active one first: IdPs encrypt assertions to a certificate of
   * the SP metadata, and during a rollover that may be the next or the previous one.
   */
  spDecryptionKeys(): Promise<SpSigningKey[]>;
};
type Target = { tenant: TenantRow; connection: SsoConnectionRow };
/** Which login a response belongs to: found through its InResponseTo, or unsolicited. */
type Correlation = { connection: SsoConnectionRow; requestId: string | null; returnTo: string; authnContexts?: string[] };

/**
 * POST /sso/{tenant}/saml/acs. The IdP's cross-site POST carries none of our SameSite=Lax cookies: the
 * response is tied to its login through InResponseTo and the server-side flow, never through the browser.
 * Steps: read InResponseTo, or the Issuer of an unsolicited response (no DOCTYPE) -> correlate (cheap,
 * before any parsing or crypto: the flow's connection, or the Issuer's among the tenant's) -> on a
 * validation thread: parse, node-saml, our checks on what node-saml verified -> accept the assertion ID
 * once -> session. Any refusal: a 4xx page.
 */
export function createSamlAcs(deps: AcsDeps) {
  return async function consumeAssertion(req: Request, res: Response): Promise<void> {
    const slug = String(req.params.tenant).toLowerCase();
    const target = await deps.login.connectionFor(slug, "saml");
    if (!target) throw new AppError("not_found", "Single sign-on is not available for this account.");
    res.set("Cache-Control", "no-store");
    let where: Target = target;
    let correlation: Correlation | undefined;
    try {
      const envelope = readPostedResponse(req.body);
      // No flow names an unsolicited response's connection: its Issuer chooses among the tenant's (and so
      // whose certificates and entity ID the validation holds it to), and any refusal is counted there.
      if (envelope.inResponseTo === undefined) where = { tenant: target.tenant, connection: await connectionOfIssuer(deps, target.connection, envelope.issuer) };
      correlation = await correlate(deps, where, envelope);
      where = { tenant: target.tenant, connection: correlation.connection };
      const auth = await authenticate(deps, where, envelope, correlation.requestId, contextOf(res).ip);
      await deps.http.finish(res, { ...where, auth, returnTo: correlation.returnTo });
      await deps.login.clearFailures(where.connection.id);
    } catch (error) {
      if (correlation && stepUpFallback(error, correlation.authnContexts)) {
        await deps.restartWithoutStepUp({ ...where, returnTo: correlation.returnTo, req, res });
        return;
      }
      await deps.http.fail(res, error, where);
    }
  };
}

async function correlate(deps: AcsDeps, target: Target, envelope: PostedResponse): Promise<Correlation> {
  if (envelope.inResponseTo === undefined) {
    if (!target.connection.allowIdpInitiated) throw new SsoRefused("unsolicited");
    // No flow: RelayState is whatever the IdP sends; only a path of this service is followed.
    return { connection: target.connection, requestId: null, returnTo: safeReturnTo(envelope.relayState, { fallback: "/account" }) };
  }
  // Single use and scoped to this tenant: a replayed response, or one made for another tenant, finds nothing.
  const flow = await deps.flows.takeBySamlRequest(target.tenant.id, envelope.inResponseTo);
  if (!flow) throw new SsoRefused("unknown_in_response_to");
  // Redis expires the flow too; our clock decides as well, so that every instance agrees with the tests.
  if (deps.clock.now().getTime() - flow.createdAt >= deps.flows.ttlMs) throw new SsoRefused("in_response_to_expired");
  const connection = flow.connectionId === target.connection.id
    ? target.connection
    : (await deps.login.connectionFor(target.tenant.slug, "saml", flow.connectionId))?.connection;
  if (!connection) throw new SsoRefused("connection_unavailable");
  return { connection, requestId: envelope.inResponseTo, returnTo: flow.returnTo, authnContexts: flow.authnContexts };
}

/**
 * A padding oracle against AES-CBC content needs thousands of tampered EncryptedAssertions, each telling the
 * attacker (by how long the refusal took, as the refusal itself is always `decryption_failed`) whether it
 * decrypted. Failures to decrypt are counted per connection and client IP (the throttle's consecutive and
 * per-IP counters): after 10 in a row from one IP, that IP's encrypted responses for the connection are
 * refused without touching the key, with delays that double up to 15 minutes. Counted per IP so that an
 * attacker cannot shut a whole tenant out of SSO; a decrypted assertion resets the IP's run.
 */
function decryptionSubject(where: Target, ip: string) {
  return { account: `${where.connection.id}:${ip}`, ip, action: "saml_decrypt" as const };
}

async function authenticate(deps: AcsDeps, where: Target, envelope: PostedResponse, requestId: string | null, ip: string): Promise<SsoAuthentication> {
  const idpEntityId = where.connection.idpEntityId;
  if (!idpEntityId) throw new SsoRefused("connection_incomplete");
  const endpoints = spEndpoints(deps.publicUrl, where.tenant.slug);
  const now = deps.clock.now().getTime();
  const expected: Expected = { endpoints, idpEntityId, requestId, now };
  // Parsing, signatures and every check of the Response and assertion: the CPU-heavy part, off the event loop.
  const { idpEntityId: entity, ssoUrl, sloUrl, certificates, requireEncryptedAssertions, requireGcmEncryption } = where.connection;
  const connection = { idpEntityId: entity, ssoUrl, sloUrl, certificates, requireEncryptedAssertions, requireGcmEncryption };
  const subject = decryptionSubject(where, ip);
  if (envelope.encrypted && !(await deps.throttle.check(subject)).allowed) throw new SsoRefused("decryption_throttled");
  const decryptionKeyPems = envelope.encrypted ? (await deps.spDecryptionKeys()).map((key) => key.privateKeyPem) : [];
  const outcome = await deps.samlValidator.validate({ encoded: envelope.encoded, connection, expected, decryptionKeyPems });
  if (envelope.encrypted) {
    if (!outcome.ok && outcome.reason === "decryption_failed") await deps.throttle.recordFailure(subject);
    else if (outcome.ok) await deps.throttle.recordSuccess(subject);
  }
  if (!outcome.ok) throw new SsoRefused(outcome.reason);
  const { assertion } = outcome;
  await acceptAssertionOnce(deps.kv, { connectionId: where.connection.id, assertionId: assertion.id, refusedAfter: assertion.refusedAfter, now });
  return samlAuthentication(assertion, where.connection.attributeMapping);
}
