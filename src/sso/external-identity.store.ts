import type { Db, DbTx, DbWrite } from "../platform/db/prisma";

const STAMP_EVERY_MS = 60_000;
const isStale = (stamp: Date | null, at: Date) => !stamp || at.getTime() - stamp.getTime() >= STAMP_EVERY_MS;

/**
 * The connection's last login, for health: written at most once a minute, so a busy IdP's logins do not
 * all queue on one row lock. None when the row read by this request says it is recent.
 */
function connectionStamp(db: Db | DbTx, connection: { id: string; lastLoginAt: Date | null }, at: Date): DbWrite | null {
  if (!isStale(connection.lastLoginAt, at)) return null;
  const threshold = new Date(at.getTime() - STAMP_EVERY_MS);
  return db.ssoConnection.updateMany({
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
    /** Last-login times, to the minute: the statements due (none, mostly), to run with the login's audit row. */
    loginStamps: (db: Db | DbTx, identity: { id: string; lastLoginAt: Date | null }, connection: { id: string; lastLoginAt: Date | null }, at: Date): DbWrite[] =>
      [
        isStale(identity.lastLoginAt, at) ? db.externalIdentity.update({ where: { id: identity.id }, data: { lastLoginAt: at } }) : null,
        connectionStamp(db, connection, at),
      ].filter((write): write is DbWrite => write !== null),
    connectionStamp,
  };
}

export type ExternalIdentityStore = ReturnType<typeof createExternalIdentityStore>;
