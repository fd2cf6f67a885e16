import type { AuditContext } from "../../audit/audit-event";
import type { AuditStore } from "../../audit/audit.store";
import type { Db } from "../../platform/db/prisma";
import type { Session } from "../../sessions/session";
import type { SessionService } from "../../sessions/session.service";
import type { ExternalIdentityStore } from "../external-identity.store";
import type { CheckedLogoutRequest } from "./logout-checks";

export type IdpLogoutDeps = {
  db: Db;
  sessions: Pick<SessionService, "listUserSessions" | "revokeSession">;
  identities: Pick<ExternalIdentityStore, "findBySubject">;
  auditStore: AuditStore;
};

/**
 * IdP-initiated single logout: ends the Gatehouse sessions that this connection's login made for the
 * NameID (only those of the named IdP sessions, when the request names any). The user's other sessions
 * (local login, another connection) stay. Ending a session also tells product apps (the session service's
 * listeners). Audited as session.revoked by the IdP, even when nothing was left to end. Returns how many ended.
 */
export async function endIdpSessions(
  deps: IdpLogoutDeps,
  input: { tenantId: string; connectionId: string; request: CheckedLogoutRequest; context: AuditContext },
): Promise<number> {
  const { tenantId, connectionId, request } = input;
  // The same key the login linked the identity under (saml-claims): the NameID with its format.
  const identity = await deps.identities.findBySubject(deps.db, connectionId, `${request.nameIdFormat}|${request.nameId}`);
  const userId = identity && identity.user.tenantId === tenantId ? identity.userId : null;
  const ended: string[] = [];
  if (userId) {
    const fromThisLogin = (await deps.sessions.listUserSessions(userId)).filter((session) => cameFrom(session, input));
    for (const session of fromThisLogin) {
      if (await deps.sessions.revokeSession(session.id, { userId, tenantId })) ended.push(session.id);
    }
  }
  await deps.auditStore.insert(deps.db, input.context, {
    type: "session.revoked",
    tenantId,
    target: userId ? { type: "user", id: userId } : { type: "sso_connection", id: connectionId },
    data: { by: "idp", reason: "saml_single_logout", connectionId, count: ended.length, sessionIds: ended, sessionIndexCount: request.sessionIndexes.length },
  });
  return ended.length;
}

function cameFrom(session: Session, input: { tenantId: string; connectionId: string; request: CheckedLogoutRequest }): boolean {
  const { sso } = session;
  if (session.method !== "saml" || session.tenantId !== input.tenantId || sso?.connectionId !== input.connectionId || sso.nameId !== input.request.nameId) return false;
  const wanted = input.request.sessionIndexes;
  return wanted.length === 0 || (sso.sessionIndex !== undefined && wanted.includes(sso.sessionIndex));
}
