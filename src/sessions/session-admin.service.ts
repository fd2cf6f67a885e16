import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Db } from "../platform/db/prisma";
import { notFound } from "../platform/errors";
import { decodeCursor, toPage, type Page } from "../platform/pagination";
import type { Session } from "./session";
import type { SessionService } from "./session.service";

type Deps = {
  db: Db;
  auditStore: AuditStore;
  sessions: Pick<SessionService, "listUserSessions" | "listTenantSessions" | "revokeSession" | "revokeUserSessions" | "revokeTenantSessions">;
};
/** A user already resolved within the caller's tenant. */
type UserRef = { id: string; tenantId: string };

// Public ids are randomToken(16): base64url. Anything else cannot name a session.
const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;

export type AdminSessionView = ReturnType<typeof toAdminSessionView>;

/** What an admin may see of a session: never the token or its hash. */
export function toAdminSessionView(session: Session) {
  return {
    id: session.id,
    method: session.method,
    assurance: session.assurance,
    amr: session.amr,
    ip: session.ip,
    userAgent: session.userAgent,
    createdAt: iso(session.createdAt),
    lastSeenAt: iso(session.lastSeenAt),
    authTime: iso(session.authTime),
    // Ends then unless used again; activity moves it, never past the absolute limit.
    expiresAt: iso(Math.min(session.lastSeenAt + session.idleTimeoutMs, session.absoluteExpiresAt)),
  };
}

/** A session in a tenant-wide list: whose it is as well. */
export function toTenantSessionView(session: Session) {
  return { ...toAdminSessionView(session), userId: session.userId };
}

const iso = (ms: number) => new Date(ms).toISOString();

// A tenant's sessions are ordered newest first by (createdAt, id); the cursor is the last item's pair.
const SESSION_CURSOR = /^\d{1,15}\.[A-Za-z0-9_-]{16,64}$/;
const sortKey = (session: Session) => `${session.createdAt}.${session.id}`;
/** Whether `session` comes after the cursor's item in newest-first order. */
function after(session: Session, cursor: string): boolean {
  const [createdAt, id] = [Number(cursor.slice(0, cursor.indexOf("."))), cursor.slice(cursor.indexOf(".") + 1)];
  return session.createdAt < createdAt || (session.createdAt === createdAt && session.id < id);
}
/** Listing and ending a user's sessions through the admin API; every revocation is audited. */
export function createSessionAdminService(deps: Deps) {
  const audit = (context: AuditContext, user: UserRef, data: Record<string, unknown>) =>
    deps.auditStore.insert(deps.db, context, { type: "session.revoked", tenantId: user.tenantId, target: { type: "user", id: user.id }, data });

  return {
    async listUserSessions(user: UserRef): Promise<Page<AdminSessionView>> {
      const sessions = await deps.sessions.listUserSessions(user.id);
      return { items: sessions.map(toAdminSessionView), nextCursor: null };
    },

    /**
     * A tenant's live sessions, a page at a time. The tenant's index lives in Redis as a set, so each page
     * reads every session of the tenant and returns its slice: fine for thousands, not for millions.
     */
    async listTenantSessions(tenant: { id: string }, query: { cursor?: string; limit: number }): Promise<Page<ReturnType<typeof toTenantSessionView>>> {
      const cursor = decodeCursor(query.cursor, SESSION_CURSOR);
      const sessions = (await deps.sessions.listTenantSessions(tenant.id))
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
        .filter((session) => cursor === undefined || after(session, cursor));
      return toPage(sessions.slice(0, query.limit + 1), query.limit, toTenantSessionView, sortKey);
    },

    /**
     * Ends every session of a tenant (an incident: a leaked cookie jar, a compromised device fleet), without
     * touching passwords. Product apps' sessions bound to them end too. Audited once for the tenant.
     */
    async revokeTenantSessions(tenant: { id: string }, context: AuditContext): Promise<{ revoked: number }> {
      const count = await deps.sessions.revokeTenantSessions(tenant.id);
      await deps.auditStore.insert(deps.db, context, { type: "session.revoked", tenantId: tenant.id, target: { type: "tenant", id: tenant.id }, data: { by: "admin", scope: "tenant", count } });
      return { revoked: count };
    },

    async revokeUserSessions(user: UserRef, context: AuditContext): Promise<{ revoked: number }> {
      const count = await deps.sessions.revokeUserSessions(user.id);
      await audit(context, user, { by: "admin", count });
      return { revoked: count };
    },

    /** Scoped to the user (and tenant): a session id of anyone else is a 404, and stays live. */
    async revokeUserSession(user: UserRef, sessionId: string, context: AuditContext): Promise<{ revoked: 1 }> {
      const ended = SESSION_ID.test(sessionId) ? await deps.sessions.revokeSession(sessionId, { userId: user.id, tenantId: user.tenantId }) : null;
      if (!ended) throw notFound("Session");
      await audit(context, user, { by: "admin", count: 1, sessionId: ended.id });
      return { revoked: 1 };
    },
  };
}

export type SessionAdminService = ReturnType<typeof createSessionAdminService>;
