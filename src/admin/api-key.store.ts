import type { Db, DbTx } from "../platform/db/prisma";

export type ApiKeyCreate = { name: string; keyHash: string; keyPrefix: string; scopes: string[]; tenantId: string | null; createdBy: string | null };

export function createApiKeyStore() {
  return {
    findActiveByHash: (db: Db, keyHash: string) => db.apiKey.findFirst({ where: { keyHash, revokedAt: null } }),
    findByHash: (db: Db | DbTx, keyHash: string) => db.apiKey.findUnique({ where: { keyHash } }),
    findById: (db: Db | DbTx, id: string) => db.apiKey.findUnique({ where: { id }, include: { tenant: { select: { slug: true } } } }),
    create: (tx: DbTx, data: ApiKeyCreate) => tx.apiKey.create({ data, include: { tenant: { select: { slug: true } } } }),
    revoke: (tx: DbTx, id: string, at: Date) =>
      tx.apiKey.update({ where: { id }, data: { revokedAt: at }, include: { tenant: { select: { slug: true } } } }),
    /** Touches last-used at most once a minute per key, so authentication does not write on every call. */
    touch: (db: Db, id: string, at: Date) =>
      db.apiKey.updateMany({ where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(at.getTime() - 60_000) } }] }, data: { lastUsedAt: at } }),
    list: (db: Db, page: { afterId?: string; limit: number; tenantId?: string }) =>
      db.apiKey.findMany({
        where: { ...(page.afterId ? { id: { gt: page.afterId } } : {}), ...(page.tenantId ? { tenantId: page.tenantId } : {}) },
        orderBy: { id: "asc" },
        take: page.limit,
        include: { tenant: { select: { slug: true } } },
      }),
  };
}

export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;
export type ApiKeyRow = NonNullable<Awaited<ReturnType<ApiKeyStore["findById"]>>>;
