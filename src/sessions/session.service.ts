import type { Clock } from "../platform/clock";
import type { Session, SessionAssurance, SessionElevation, SessionMethod, SessionRestriction, SessionSso } from "./session";
import type { SessionEndedListener, SessionStore } from "./session.store";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export interface SessionServiceDeps {
  store: SessionStore;
  clock: Clock;
}

export type StartSessionInput = {
  user: { id: string; tenantId: string; email: string; name: string };
  /** The tenant's policy at the moment of login; later policy changes apply to new sessions. */
  tenant: { slug: string; region: string; sessionIdleMinutes: number; sessionAbsoluteHours: number };
  method: SessionMethod;
  assurance: SessionAssurance;
  amr: string[];
  ip: string | null;
  userAgent: string | null;
  restriction?: SessionRestriction;
  sso?: SessionSso;
};

/**
 * Session lifecycle for the login flows, the account page and the admin API. Audit events are the
 * caller's job: only the caller knows who acted and why.
 */
export function createSessionService({ store, clock }: SessionServiceDeps) {
  return {
    /** Always a fresh session and token: nothing a browser carried before login is reused (fixation). */
    startSession(input: StartSessionInput): Promise<{ token: string; session: Session }> {
      return store.create({
        userId: input.user.id,
        tenantId: input.user.tenantId,
        method: input.method,
        assurance: input.assurance,
        amr: input.amr,
        ip: input.ip,
        userAgent: input.userAgent,
        idleTimeoutMs: input.tenant.sessionIdleMinutes * MINUTE_MS,
        absoluteTimeoutMs: input.tenant.sessionAbsoluteHours * HOUR_MS,
        authTime: clock.now().getTime(),
        restriction: input.restriction,
        sso: input.sso,
        email: input.user.email,
        tenantSlug: input.tenant.slug,
        name: input.user.name,
        region: input.tenant.region,
      });
    },

    /** The session behind a cookie token, or null; counts as activity for the idle timeout. */
    validate(token: string): Promise<Session | null> {
      return store.touch(token);
    },

    /** New token for the same session when privilege rises (step-up MFA, password changed). */
    rotateSession(token: string, elevation?: SessionElevation): Promise<string | null> {
      return store.rotate(token, elevation);
    },

    /**
     * Ends one session. With `userId`, only that user's session: the account page passes the signed-in
     * user so nobody can end someone else's session by guessing an id. Returns the ended session.
     */
    async revokeSession(publicId: string, scope: { userId?: string; tenantId?: string } = {}): Promise<Session | null> {
      const session = await store.findById(publicId);
      if (!session) return null;
      if (scope.userId !== undefined && session.userId !== scope.userId) return null;
      if (scope.tenantId !== undefined && session.tenantId !== scope.tenantId) return null;
      return (await store.revoke(publicId)) ? session : null;
    },

    /** Ends all of a user's sessions, optionally keeping the current one. Returns how many ended. */
    revokeUserSessions(userId: string, options: { except?: string } = {}): Promise<number> {
      return store.revokeAllForUser(userId, options);
    },

    /** Ends all sessions of many users in a few round trips (rotation campaigns). Returns how many ended. */
    revokeSessionsForUsers(userIds: readonly string[]): Promise<number> {
      return store.revokeAllForUsers(userIds);
    },

    revokeTenantSessions(tenantId: string): Promise<number> {
      return store.revokeAllForTenant(tenantId);
    },

    listUserSessions(userId: string): Promise<Session[]> {
      return store.listForUser(userId);
    },

    /** Every live session of a tenant, newest first (the tenant's index set; stale entries are dropped). */
    listTenantSessions(tenantId: string): Promise<Session[]> {
      return store.listForTenant(tenantId);
    },

    /** The live session with this public id, or null; not counted as activity (product apps' token requests). */
    findSession(publicId: string): Promise<Session | null> {
      return store.findById(publicId);
    },

    /** Subscribes to every session ended by a revocation, whatever ended it (product apps' logout). */
    onSessionEnded(listener: SessionEndedListener): void {
      store.onSessionEnded(listener);
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
