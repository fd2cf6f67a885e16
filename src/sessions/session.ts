/** How the user proved who they are for this session. */
export type SessionMethod = "password" | "saml" | "oidc";

/** Authenticator assurance level (NIST SP 800-63B): aal2 once a second factor was verified. */
export type SessionAssurance = "aal1" | "aal2";

/**
 * Where an SSO session came from: the connection, what the identity provider said about how the user
 * authenticated (SAML AuthnContextClassRef or OIDC `acr`), and what single logout needs later.
 */
export type SessionSso = {
  connectionId: string;
  authnContext?: string;
  /** SAML NameID and SessionIndex, for the LogoutRequest sent to the IdP's SLO endpoint. */
  nameId?: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  /** OIDC: the IdP's ID token, the hint for its end_session endpoint. */
  idTokenHint?: string;
  /** The groups the IdP named at sign-in (the connection's `groups` mapping), for apps and proxies. */
  groups?: string[];
};

/** A session that may only reach the password-change page until the password is rotated. */
export type SessionRestriction = "password_change";

/**
 * A server-side session. The cookie carries a separate random token; `id` is a public handle
 * (safe to show on the account page and in the admin API) that cannot be turned back into the token.
 * Times are epoch milliseconds.
 */
export type Session = {
  id: string;
  userId: string;
  tenantId: string;
  method: SessionMethod;
  assurance: SessionAssurance;
  /** When the user last authenticated (OIDC `auth_time`); raised on step-up. */
  authTime: number;
  createdAt: number;
  lastSeenAt: number;
  idleTimeoutMs: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  /** RFC 8176 authentication method references: "pwd", "otp", "mfa", ... */
  amr: string[];
  restriction?: SessionRestriction;
  sso?: SessionSso;
  /**
   * The user's email and tenant slug at sign-in, so the session check (`/authz`) answers from the
   * session store alone. Absent on sessions made before they were recorded.
   */
  email?: string;
  tenantSlug?: string;
  /** The user's name and the tenant's region at sign-in: with the above, the claims of the ID tokens issued in this session. */
  name?: string;
  region?: string;
};

/** What a caller supplies to start a session; the store fills in ids and times. */
export type NewSession = {
  userId: string;
  tenantId: string;
  method: SessionMethod;
  assurance: SessionAssurance;
  amr: string[];
  ip: string | null;
  userAgent: string | null;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  /** Defaults to now. */
  authTime?: number;
  restriction?: SessionRestriction;
  sso?: SessionSso;
  email?: string;
  tenantSlug?: string;
  name?: string;
  region?: string;
};

/** Changes that come with a privilege change (step-up, password changed); applied on rotation. */
export type SessionElevation = {
  assurance?: SessionAssurance;
  amr?: string[];
  authTime?: number;
  /** null lifts the restriction. */
  restriction?: SessionRestriction | null;
};

/** True when the session is past its idle or absolute deadline at `now`. */
export function isSessionExpired(session: Session, now: number): boolean {
  return now >= session.absoluteExpiresAt || now >= session.lastSeenAt + session.idleTimeoutMs;
}

/** How long the session may still live without activity: the earlier of the two deadlines. */
export function sessionRemainingMs(session: Session, now: number): number {
  return Math.min(session.lastSeenAt + session.idleTimeoutMs, session.absoluteExpiresAt) - now;
}
