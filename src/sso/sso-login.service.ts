import type { AuditContext, AuditEventInput } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import { AppError } from "../platform/errors";
import type { KvStore } from "../platform/kv/kv-store";
import type { Logger } from "../platform/logger";
import type { PendingLoginStore } from "../local-login/pending-login.store";
import type { Session, SessionAssurance, SessionSso } from "../sessions/session";
import type { SessionService } from "../sessions/session.service";
import { isIpAllowed } from "../tenants/ip-allowlist";
import type { TenantRow, TenantStore } from "../tenants/tenant.store";
import type { UserStore } from "../users/user.store";
import type { SsoConnectionRow, SsoConnectionStore } from "./connection.store";
import type { ExternalIdentityStore } from "./external-identity.store";
import { findLinkedUser, resolveSsoUser, type ExternalClaims, type LinkOutcome } from "./link-identity";
import { NoSsoAccount } from "./sso-errors";

/** What a protocol hands over once every check of the IdP's answer passed. */
export type SsoAuthentication = {
  claims: ExternalClaims;
  /** RFC 8176 values the IdP reported (OIDC `amr`), or derived from the SAML AuthnContext. */
  amr: string[];
  /** Kept on the session: authentication context and what single logout needs. */
  sso: Omit<SessionSso, "connectionId">;
};

export type SsoClient = { ip: string; userAgent?: string; requestId?: string };

/**
 * A session, or a pending login for the local TOTP on top of SSO: the tenant asks for it, or the app the
 * login returns to asked for a second factor the IdP did not report (step-up).
 */
export type SsoCompletion =
  | { kind: "session"; sessionToken: string; session: Session; userId: string }
  | { kind: "second_factor"; pendingToken: string; location: string; userId: string };

type Deps = {
  db: Db;
  kv: KvStore;
  clock: Clock;
  logger: Logger;
  tenantStore: TenantStore;
  userStore: UserStore;
  connectionStore: SsoConnectionStore;
  identities: ExternalIdentityStore;
  auditStore: AuditStore;
  sessions: SessionService;
  pending: PendingLoginStore;
  /** Whether the app this login returns to asked for a second factor (OpenID Connect `acr_values=aal2`). */
  secondFactorRequiredFor(returnTo: string): Promise<boolean>;
};

/** Failures within this window count towards "this connection keeps failing". */
const FAILURE_WINDOW_MS = 15 * 60 * 1000;
const FAILING_AFTER = 3;
const failuresKey = (connectionId: string) => `sso-failures:${connectionId}`;

/**
 * Authentication contexts (SAML AuthnContextClassRef, OIDC acr) that name more than one factor: REFEDS MFA,
 * SAML's MobileTwoFactor and TimeSyncToken classes, OpenID PAPE multi-factor, Entra's multipleauthn and the
 * multifactor classes of several IdPs. They are read from the signed assertion or the verified ID token only.
 */
const MFA_CONTEXTS = [/refeds\.org\/profile\/mfa/i, /MobileTwoFactor/i, /TimeSyncToken/i, /multi-?factor/i, /claims\/multipleauthn$/i];

/**
 * The protocol-neutral end of an SSO login: which tenant and connection a login goes through, the
 * account it stands for (linking or JIT), the session, the audit trail and the health counters.
 */
export function createSsoLoginService(deps: Deps) {
  const { db, clock } = deps;

  /** Step-up through SSO: the app asked for a second factor and the IdP reported none, so the local TOTP is added. */
  async function stepUpNeeded(auth: SsoAuthentication, connection: SsoConnectionRow, returnTo: string): Promise<boolean> {
    return assuranceOf(auth, connection.stepUpContexts) !== "aal2" && (await deps.secondFactorRequiredFor(returnTo));
  }

  return {
    /**
     * What to ask the IdP for at the start of a login: the connection's step-up contexts when the app this
     * login returns to wants a second factor, else nothing (an IdP may refuse a context it cannot satisfy,
     * so none is asked for a login that does not need it).
     */
    async stepUpContextsFor(connection: SsoConnectionRow, returnTo: string): Promise<string[]> {
      if (connection.stepUpContexts.length === 0) return [];
      return (await deps.secondFactorRequiredFor(returnTo)) ? connection.stepUpContexts : [];
    },

    /** The tenant and the connection an SSO login for `slug` uses; 404 unless SSO is on with an enabled connection. */
    async target(slug: string): Promise<{ tenant: TenantRow; connection: SsoConnectionRow }> {
      const tenant = /^[a-z0-9-]{1,63}$/.test(slug) ? await deps.tenantStore.findBySlug(db, slug) : null;
      if (!tenant?.ssoEnabled) throw new AppError("not_found", "Single sign-on is not available for this account.");
      const connection = await db.ssoConnection.findFirst({ where: { tenantId: tenant.id, enabled: true }, orderBy: { id: "asc" } });
      if (!connection) throw new AppError("not_found", "Single sign-on is not available for this account.");
      return { tenant, connection };
    },

    /**
     * The tenant's enabled connection of one protocol (the one a flow began with, when `id` is given).
     * Null when the tenant, or such a connection, does not exist: endpoints answer 404 alike.
     */
    async connectionFor(slug: string, type: "saml" | "oidc", id?: string): Promise<{ tenant: TenantRow; connection: SsoConnectionRow } | null> {
      if (!/^[a-z0-9-]{1,63}$/.test(slug)) return null;
      // One query on the ACS and callback hot path: the connection with its tenant.
      const found = await db.ssoConnection.findFirst({
        where: { tenant: { slug }, type, enabled: true, ...(id ? { id } : {}) }, orderBy: { id: "asc" }, include: { tenant: true },
      });
      if (!found) return null;
      const { tenant, ...connection } = found;
      return { tenant, connection };
    },

    /**
     * Turns a verified IdP answer into a session — or, where the tenant asks for the local TOTP on top
     * of SSO or the app asked for a second factor the IdP did not give, into a pending login for that
     * step. Refused (no session, nothing written but the failure record) when SSO was switched off
     * meanwhile, the network is outside the tenant's allowlist, or no active account stands for the identity.
     */
    async complete(input: { tenant: TenantRow; connection: SsoConnectionRow; auth: SsoAuthentication; client: SsoClient; returnTo: string; browserId: string }): Promise<SsoCompletion> {
      // `tenant` and `connection` were read by this request (connectionFor), after the IdP answered:
      // a policy change made while the user was at the IdP is already in them.
      const { tenant, connection, auth, client } = input;
      if (!tenant.ssoEnabled || !connection.enabled) throw new AppError("not_found", "Single sign-on is not available for this account.");
      if (!isIpAllowed(tenant.ipAllowlist, client.ip)) throw new NoSsoAccount("ip_not_allowed");
      const at = clock.now();
      const method = connection.type === "oidc" ? ("oidc" as const) : ("saml" as const);
      const groups = auth.claims.groups;
      const sso: SessionSso = { ...auth.sso, connectionId: connection.id, ...(groups ? { groups } : {}) };
      const context: AuditContext = { actor: { type: "anonymous" }, ip: client.ip, requestId: client.requestId };
      const succeeded = (linked: LinkOutcome): AuditEventInput => ({
        type: "sso.login.succeeded", tenantId: tenant.id, target: { type: "user", id: linked.userId },
        data: { connectionId: connection.id, protocol: connection.type, link: linked.how, authnContext: auth.sso.authnContext ?? null, amr: auth.amr },
      });
      const asUser = (linked: LinkOutcome): AuditContext => ({ ...context, actor: { type: "user", id: linked.userId } });
      const links = { userStore: deps.userStore, identities: deps.identities };
      const stepUp = !tenant.requireLocalMfaForSso && (await stepUpNeeded(auth, connection, input.returnTo));
      const localFactor = tenant.requireLocalMfaForSso || stepUp;
      const known = await findLinkedUser(links, db, { tenant, connection, claims: auth.claims, at });
      let outcome: LinkOutcome;
      if (known) {
        // Every login but the first: the stamps due and the audit row in one batch, no interactive transaction.
        // With a local factor still to come, the login succeeds (and is audited) only after it.
        const writes = [...known.stamps, ...(localFactor ? [] : [deps.auditStore.insertStatement(db, asUser(known.outcome), succeeded(known.outcome))])];
        if (writes.length === 1) await writes[0];
        else if (writes.length > 1) await db.$transaction(writes);
        outcome = known.outcome;
      } else {
        outcome = await linkWithRetry(async () => db.$transaction(async (tx) => {
          const linked = await resolveSsoUser(links, tx, { tenant, connection, claims: auth.claims, at });
          if (linked.how === "provisioned") {
            await deps.auditStore.insert(tx, asUser(linked), { type: "user.created", tenantId: tenant.id, target: { type: "user", id: linked.userId }, data: { via: "sso_jit", connectionId: connection.id } });
          }
          if (!localFactor) await deps.auditStore.insert(tx, asUser(linked), succeeded(linked));
          return linked;
        }));
      }
      if (localFactor) {
        const user = await deps.userStore.findInTenant(db, tenant.id, outcome.userId);
        const stage = user?.totpSecret ? ("mfa" as const) : ("enroll" as const);
        const pendingToken = await deps.pending.create({
          userId: outcome.userId, tenantId: tenant.id, region: tenant.region, browserId: input.browserId, returnTo: input.returnTo,
          stage, createdAt: at.getTime(), sso: { method, amr: auth.amr, session: sso }, ...(stepUp ? { stepUp } : {}),
        });
        return { kind: "second_factor", pendingToken, location: stage === "mfa" ? `/${tenant.region}/login/mfa` : `/${tenant.region}/mfa/setup`, userId: outcome.userId };
      }
      const { token, session } = await deps.sessions.startSession({
        user: { id: outcome.userId, tenantId: tenant.id, email: outcome.email, name: outcome.name },
        tenant,
        method,
        assurance: assuranceOf(auth, connection.stepUpContexts),
        amr: sessionAmrOf(auth, connection.stepUpContexts),
        ip: client.ip,
        userAgent: client.userAgent ?? "",
        sso,
      });
      return { kind: "session", sessionToken: token, session, userId: outcome.userId };
    },

    /** Audits a refused SSO login and counts it towards the connection's health. Never throws. */
    async recordFailure(input: { tenantId: string; connectionId: string; protocol: string; reason: string; client: SsoClient }): Promise<void> {
      try {
        const context: AuditContext = { actor: { type: "anonymous" }, ip: input.client.ip, requestId: input.client.requestId };
        await deps.auditStore.insert(db, context, {
          type: "sso.login.failed", tenantId: input.tenantId, target: { type: "sso_connection", id: input.connectionId },
          data: { connectionId: input.connectionId, protocol: input.protocol, reason: input.reason },
        });
        await deps.kv.incr(failuresKey(input.connectionId), FAILURE_WINDOW_MS);
      } catch (error) {
        deps.logger.warn({ err: error, connectionId: input.connectionId }, "could not record an SSO failure");
      }
    },

    /** True when logins through the connection keep failing (the error page then offers the bypass URL). */
    async isFailing(connectionId: string): Promise<boolean> {
      try {
        return Number((await deps.kv.get(failuresKey(connectionId))) ?? 0) >= FAILING_AFTER;
      } catch {
        return false;
      }
    },

    async clearFailures(connectionId: string): Promise<void> {
      await deps.kv.del(failuresKey(connectionId)).catch(() => undefined);
    },
  };
}

/**
 * Two first logins of one new identity at once both try to link it; the loser hits the unique key
 * (P2002) and, on a second look, finds the identity the winner linked.
 */
async function linkWithRetry<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if ((error as { code?: string }).code !== "P2002") throw error;
    return attempt();
  }
}

/**
 * aal2 only when the IdP said it used more than one factor; an SSO login is otherwise one factor. Besides
 * the built-in MFA contexts, a context the connection asks for on step-up counts (its admin named it as the
 * IdP's second factor), matched exactly.
 */
export function assuranceOf(auth: Pick<SsoAuthentication, "amr" | "sso">, stepUpContexts: readonly string[] = []): SessionAssurance {
  if (auth.amr.includes("mfa")) return "aal2";
  const context = auth.sso.authnContext ?? "";
  if (context !== "" && stepUpContexts.includes(context)) return "aal2";
  return MFA_CONTEXTS.some((pattern) => pattern.test(context)) ? "aal2" : "aal1";
}

/**
 * The session's amr: the IdP's values, plus `mfa` when only its authentication context (an OIDC `acr`) said
 * more than one factor, so that apps reading `amr` see the second factor `acr` reports (`mfa` for any).
 */
function sessionAmrOf(auth: Pick<SsoAuthentication, "amr" | "sso">, stepUpContexts: readonly string[]): string[] {
  return assuranceOf(auth, stepUpContexts) === "aal2" && !auth.amr.includes("mfa") ? [...auth.amr, "mfa"] : auth.amr;
}

export type SsoLoginService = ReturnType<typeof createSsoLoginService>;
