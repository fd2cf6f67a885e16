import type { Db, DbTx } from "../platform/db/prisma";

/**
 * The connection's last login, for health: written at most once a minute, so a busy IdP's logins do not
 * all queue on one row lock.
 */
async function touchConnection(tx: DbTx, connection: { id: string; lastLoginAt: Date | null }, at: Date): Promise<void> {
  const threshold = new Date(at.getTime() - 60_000);
  // The row read by this request says it is recent: no statement at all.
  if (connection.lastLoginAt && connection.lastLoginAt >= threshold) return;
  await tx.ssoConnection.updateMany({
    where: { id: connection.id, OR: [{ lastLoginAt: null }, { lastLoginAt: { lt: threshold } }] },
    data: { lastLoginAt: at },
  });
}

/** Accounts at a tenant's identity providers, keyed by (connection, subject): never by email alone. */
export function createExternalIdentityStore() {
  return {
    /** The identity with its user, in one query. */
    findBySubject: (db: Db | DbTx, connectionId: string, subject: string) =>
      db.externalIdentity.findUnique({ where: { connectionId_subject: { connectionId, subject } }, include: { user: true } }),
    findForUser: (db: Db | DbTx, connectionId: string, userId: string) =>
      db.externalIdentity.findUnique({ where: { connectionId_userId: { connectionId, userId } } }),
    link: (tx: DbTx, identity: { connectionId: string; tenantId: string; userId: string; subject: string; at: Date }) =>
      tx.externalIdentity.create({
        data: { connectionId: identity.connectionId, tenantId: identity.tenantId, userId: identity.userId, subject: identity.subject, lastLoginAt: identity.at },
      }),
    /** Last-login times, to the minute: a write only when the stored one is older. */
    recordLogin: async (tx: DbTx, identity: { id: string; lastLoginAt: Date | null }, connection: { id: string; lastLoginAt: Date | null }, at: Date) => {
      if (!identity.lastLoginAt || at.getTime() - identity.lastLoginAt.getTime() >= 60_000) {
        await tx.externalIdentity.update({ where: { id: identity.id }, data: { lastLoginAt: at } });
      }
      await touchConnection(tx, connection, at);
    },
    touchConnection,
  };
}

export type ExternalIdentityStore = ReturnType<typeof createExternalIdentityStore>;
