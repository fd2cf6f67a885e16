import type { Db, DbTx } from "../platform/db/prisma";

/**
 * The connection's last login, for health: written at most once a minute, so a busy IdP's logins do not
 * all queue on one row lock.
 */
async function touchConnection(tx: DbTx, connectionId: string, at: Date): Promise<void> {
  await tx.ssoConnection.updateMany({
    where: { id: connectionId, OR: [{ lastLoginAt: null }, { lastLoginAt: { lt: new Date(at.getTime() - 60_000) } }] },
    data: { lastLoginAt: at },
  });
}

/** Accounts at a tenant's identity providers, keyed by (connection, subject): never by email alone. */
export function createExternalIdentityStore() {
  return {
    findBySubject: (db: Db | DbTx, connectionId: string, subject: string) =>
      db.externalIdentity.findUnique({ where: { connectionId_subject: { connectionId, subject } } }),
    findForUser: (db: Db | DbTx, connectionId: string, userId: string) =>
      db.externalIdentity.findUnique({ where: { connectionId_userId: { connectionId, userId } } }),
    link: (tx: DbTx, identity: { connectionId: string; tenantId: string; userId: string; subject: string; at: Date }) =>
      tx.externalIdentity.create({
        data: { connectionId: identity.connectionId, tenantId: identity.tenantId, userId: identity.userId, subject: identity.subject, lastLoginAt: identity.at },
      }),
    recordLogin: async (tx: DbTx, identityId: string, connectionId: string, at: Date) => {
      await tx.externalIdentity.update({ where: { id: identityId }, data: { lastLoginAt: at } });
      await touchConnection(tx, connectionId, at);
    },
    touchConnection,
  };
}

export type ExternalIdentityStore = ReturnType<typeof createExternalIdentityStore>;
