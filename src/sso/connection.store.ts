import type { Prisma } from "../generated/prisma/client";
import type { Db, DbTx } from "../platform/db/prisma";

export type SsoConnectionData = Omit<Prisma.SsoConnectionUncheckedCreateInput, "id" | "createdAt" | "updatedAt">;
export type SsoConnectionChange = Omit<Prisma.SsoConnectionUncheckedUpdateInput, "id" | "tenantId" | "type" | "createdAt" | "updatedAt">;

export function createSsoConnectionStore() {
  return {
    findInTenant: (db: Db | DbTx, tenantId: string, id: string) => db.ssoConnection.findFirst({ where: { id, tenantId } }),
    /** Whether the tenant has SAML connections and every one of them accepts AES-GCM content encryption only. */
    async samlRequiresGcm(db: Db | DbTx, tenantId: string): Promise<boolean> {
      const rows = await db.ssoConnection.findMany({ where: { tenantId, type: "saml" }, select: { requireGcmEncryption: true } });
      return rows.length > 0 && rows.every((row) => row.requireGcmEncryption);
    },
    /** The tenant's enabled SAML connection to this IdP entity (the oldest, should two name the same one). */
    findEnabledSamlByIdp: (db: Db, tenantId: string, idpEntityId: string) =>
      db.ssoConnection.findFirst({ where: { tenantId, type: "saml", enabled: true, idpEntityId }, orderBy: { id: "asc" } }),
    /** Ordered by id (time-ordered UUIDv7), after the cursor's id. */
    list: (db: Db, page: { tenantId: string; afterId?: string; limit: number }) =>
      db.ssoConnection.findMany({
        where: { tenantId: page.tenantId, ...(page.afterId ? { id: { gt: page.afterId } } : {}) },
        orderBy: { id: "asc" },
        take: page.limit,
      }),
    create: (tx: DbTx, data: SsoConnectionData) => tx.ssoConnection.create({ data }),
    update: (tx: DbTx, id: string, data: SsoConnectionChange) => tx.ssoConnection.update({ where: { id }, data }),
    delete: (tx: DbTx, id: string) => tx.ssoConnection.delete({ where: { id } }),
    countEnabled: (db: Db | DbTx, tenantId: string, exceptId?: string) =>
      db.ssoConnection.count({ where: { tenantId, enabled: true, ...(exceptId ? { id: { not: exceptId } } : {}) } }),
  };
}

export type SsoConnectionStore = ReturnType<typeof createSsoConnectionStore>;
export type SsoConnectionRow = NonNullable<Awaited<ReturnType<SsoConnectionStore["findInTenant"]>>>;
