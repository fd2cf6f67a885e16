import type { IDToken, UserInfoResponse } from "openid-client";
import type { SsoConnectionRow } from "../connection.store";
import { groupsOf, type ExternalClaims } from "../link-identity";
import { SsoRefused } from "../sso-errors";
import type { SsoAuthentication } from "../sso-login.service";

/** Which claims carry the user's attributes; the connection's claimMapping overrides these per field. */
export type ClaimMapping = { email: string; firstName: string; lastName: string; groups: string };

const DEFAULT_MAPPING: ClaimMapping = { email: "email", firstName: "given_name", lastName: "family_name", groups: "groups" };
const MAX_SUBJECT_LENGTH = 255; // OpenID Connect Core §2: sub is at most 255 ASCII characters
const MAX_TEXT_LENGTH = 320;

type Claims = Record<string, unknown>;

export function claimMappingOf(connection: Pick<SsoConnectionRow, "attributeMapping">): ClaimMapping {
  const stored = connection.attributeMapping;
  if (!stored || typeof stored !== "object" || Array.isArray(stored)) return DEFAULT_MAPPING;
  const pick = (key: keyof ClaimMapping) => {
    const value = (stored as Record<string, unknown>)[key];
    return typeof value === "string" && value ? value : DEFAULT_MAPPING[key];
  };
  return { email: pick("email"), firstName: pick("firstName"), lastName: pick("lastName"), groups: pick("groups") };
}

/** Many IdPs put the profile claims only in the userinfo response in the code flow (OpenID Connect Core §5.4). */
export function needsUserInfo(idClaims: Claims, mapping: ClaimMapping): boolean {
  return idClaims[mapping.email] === undefined;
}

/**
 * The identity as the linking rules need it. `sub` always comes from the verified ID token (userinfo
 * was checked to name the same subject); email and email_verified come from the same source, and the
 * email counts as verified only for a literal `email_verified: true`.
 */
export function externalClaimsOf(idClaims: IDToken, userInfo: UserInfoResponse | undefined, mapping: ClaimMapping): ExternalClaims {
  const subject = idClaims.sub;
  if (!subject || subject.length > MAX_SUBJECT_LENGTH) throw new SsoRefused("subject_invalid");
  const profile: Claims = { ...userInfo, ...idClaims };
  const emailSource: Claims = idClaims[mapping.email] !== undefined || !userInfo ? idClaims : userInfo;
  return {
    subject,
    email: exact(emailSource[mapping.email]),
    emailVerified: emailSource.email_verified === true,
    firstName: text(profile[mapping.firstName]),
    lastName: text(profile[mapping.lastName]),
    name: text(profile.name),
    groups: groupsOf(profile[mapping.groups]),
  };
}

/** What the session keeps: the IdP's acr (as authnContext) and amr, and the ID token as the hint for RP-initiated logout. */
export function authenticationOf(idToken: string, idClaims: IDToken, claims: ExternalClaims): SsoAuthentication {
  const amr = Array.isArray(idClaims.amr) ? idClaims.amr.filter((value): value is string => typeof value === "string").slice(0, 16) : [];
  return { claims, amr, sso: { authnContext: text(idClaims.acr), idTokenHint: idToken } };
}

/** Display text: cut to a sane length. */
function text(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value.slice(0, MAX_TEXT_LENGTH) : undefined;
}

/** An identifier is never cut (a cut address could be someone else's): too long counts as absent. */
function exact(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_TEXT_LENGTH ? value : undefined;
}
