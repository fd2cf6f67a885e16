import type { AuditStore } from "../audit/audit.store";
import type { Db } from "../platform/db/prisma";
import type { RequestContext } from "../platform/http/request-context";
import type { TenantStore } from "../tenants/tenant.store";
import type { UserStore } from "../users/user.store";
import type { Session } from "./session";
import type { SessionService } from "./session.service";

type Deps = {
  db: Db; sessions: SessionService; userStore: UserStore; tenantStore: TenantStore; auditStore: AuditStore;
  /** Unused recovery codes of a user. */
  countRecoveryCodes: (userId: string) => Promise<number>;
};

/** What the signed-in user can see and do about their own account and sessions. */
export function createAccountService(deps: Deps) {
  const audit = (context: RequestContext, session: Session, data: Record<string, unknown>) =>
    deps.auditStore.insert(deps.db, context, { type: "session.revoked", tenantId: session.tenantId, target: { type: "user", id: session.userId }, data });

  return {
    async describe(current: Session) {
      const [user, tenant, sessions] = await Promise.all([
        deps.userStore.findInTenant(deps.db, current.tenantId, current.userId),
        deps.tenantStore.findById(deps.db, current.tenantId),
        deps.sessions.listUserSessions(current.userId),
      ]);
      return {
        email: user?.email ?? "",
        tenantName: tenant?.name ?? "",
        // Null without an authenticator app: there are no codes to speak of.
        recoveryCodesLeft: user?.totpSecret ? await deps.countRecoveryCodes(user.id) : null,
        sessions: sessions
          .sort((a, b) => b.lastSeenAt - a.lastSeenAt)
          .map((s) => ({
            id: s.id, current: s.id === current.id, method: s.method, assurance: s.assurance, ip: s.ip ?? "", userAgent: (s.userAgent ?? "").slice(0, 120),
            createdAt: new Date(s.createdAt).toISOString(), lastSeenAt: new Date(s.lastSeenAt).toISOString(),
          })),
      };
    },

    /** Email and tenant slug of a session's user, read from the database (sessions made before they were kept on it). */
    async identityOf(session: Session): Promise<{ email: string; tenantSlug: string } | null> {
      const [user, tenant] = await Promise.all([
        deps.userStore.findInTenant(deps.db, session.tenantId, session.userId),
        deps.tenantStore.findById(deps.db, session.tenantId),
      ]);
      return user && tenant && user.status === "active" ? { email: user.email, tenantSlug: tenant.slug } : null;
    },

    /** `target` is one of the user's own session ids, or "others" for every session but this one. */
    async revokeOwnSessions(current: Session, target: string, context: RequestContext): Promise<void> {
      if (target === "others") {
        const count = await deps.sessions.revokeUserSessions(current.userId, { except: current.id });
        await audit(context, current, { by: "user", scope: "others", count });
        return;
      }
      const ended = await deps.sessions.revokeSession(target, { userId: current.userId });
      if (ended) await audit(context, current, { by: "user", sessionId: ended.id });
    },

    async logout(current: Session, context: RequestContext): Promise<void> {
      await deps.sessions.revokeSession(current.id, { userId: current.userId });
      await audit(context, current, { by: "user", reason: "logout", sessionId: current.id });
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
