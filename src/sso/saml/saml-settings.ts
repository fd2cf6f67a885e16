/** How far the IdP's clock may be from ours (NotBefore, NotOnOrAfter, IssueInstant). */
export const CLOCK_SKEW_MS = 2 * 60 * 1000;
/** An assertion issued longer ago than this is refused, whatever its NotOnOrAfter says. */
export const MAX_ASSERTION_AGE_MS = 5 * 60 * 1000;
/** ACS bodies above this get 413 before any parsing. */
export const ACS_BODY_LIMIT = "1mb";

/** Where a tenant's SAML endpoints are: the SP entity ID is its metadata URL, the ACS takes POST only. */
export type SpEndpoints = { entityId: string; acsUrl: string };

export function spEndpoints(publicUrl: string, tenantSlug: string): SpEndpoints {
  const base = `${publicUrl}/sso/${encodeURIComponent(tenantSlug)}/saml`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs` };
}
