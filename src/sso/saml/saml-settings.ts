/** How far the IdP's clock may be from ours (NotBefore, NotOnOrAfter, IssueInstant). */
export const CLOCK_SKEW_MS = 2 * 60 * 1000;
/** An assertion issued longer ago than this is refused, whatever its NotOnOrAfter says. */
export const MAX_ASSERTION_AGE_MS = 5 * 60 * 1000;
/**
 * Bytes. ACS and SLO bodies above this get 413 before any parsing; an HTTP-Redirect message may not
 * inflate beyond it either.
 */
export const ACS_BODY_LIMIT = 1024 * 1024;

/** Where a tenant's SAML endpoints are: the SP entity ID is its metadata URL, the ACS takes POST only; SLO takes both bindings. */
export type SpEndpoints = { entityId: string; acsUrl: string; sloUrl: string };

export function spEndpoints(publicUrl: string, tenantSlug: string): SpEndpoints {
  const base = `${publicUrl}/sso/${encodeURIComponent(tenantSlug)}/saml`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, sloUrl: `${base}/slo` };
}
