import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Db } from "../platform/db/prisma";
import { notFound } from "../platform/errors";
import type { Page } from "../platform/pagination";
import type { Session } from "./session";
import type { SessionService } from "./session.service";

type Deps = { db: Db; auditStore: AuditStore; sessions: Pick<SessionService, "listUserSessions" | "revokeSession" | "revokeUserSessions"> };
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

const iso = (ms: number) => new Date(ms).toISOString();

/** Listing and ending a user's sessions through the admin API; every revocation is audited. */
export function createSessionAdminService(deps: Deps) {
  const audit = (context: AuditContext, user: UserRef, data: Record<string, unknown>) =>
    deps.auditStore.insert(deps.db, context, { type: "session.revoked", tenantId: user.tenantId, target: { type: "user", id: user.id }, data });

  return {
    async listUserSessions(user: UserRef): Promise<Page<AdminSessionView>> {
      const sessions = await deps.sessions.listUserSessions(user.id);
      return { items: sessions.map(toAdminSessionView), nextCursor: null };
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
