import type { Prisma } from "../generated/prisma/client";
import type { Db, DbTx } from "../platform/db/prisma";

export type ApplicationData = Omit<Prisma.ApplicationUncheckedCreateInput, "id" | "createdAt" | "updatedAt">;
export type ApplicationChanges = Partial<Omit<ApplicationData, "clientId" | "clientSecretHash">>;

/** Rows of `applications`: the product apps (OAuth clients) of the OpenID provider. */
export function createApplicationStore() {
  return {
    findById: (db: Db | DbTx, id: string) => db.application.findUnique({ where: { id } }),
    findByClientId: (db: Db | DbTx, clientId: string) => db.application.findUnique({ where: { clientId } }),
    create: (tx: DbTx, data: ApplicationData) => tx.application.create({ data }),
    update: (tx: DbTx, id: string, changes: ApplicationChanges) => tx.application.update({ where: { id }, data: changes }),
    delete: (tx: DbTx, id: string) => tx.application.delete({ where: { id } }),
    /** `tenantId`: only apps restricted to exactly that tenant (what a tenant-bound API key may see). */
    list: (db: Db, page: { afterId?: string; limit: number; tenantId?: string }) =>
      db.application.findMany({
        where: {
          ...(page.afterId ? { id: { gt: page.afterId } } : {}),
          ...(page.tenantId ? { tenantIds: { equals: [page.tenantId] } } : {}),
        },
        orderBy: { id: "asc" },
        take: page.limit,
      }),
    /** id -> slug of the given tenants (unknown ids are left out). */
    async tenantSlugs(db: Db | DbTx, ids: readonly string[]): Promise<Map<string, string>> {
      if (ids.length === 0) return new Map();
      const rows = await db.tenant.findMany({ where: { id: { in: [...ids] } }, select: { id: true, slug: true } });
      return new Map(rows.map((row) => [row.id, row.slug]));
    },
    /** slug -> id of the given tenants (unknown slugs are left out). */
    async tenantIdsBySlug(db: Db | DbTx, slugs: readonly string[]): Promise<Map<string, string>> {
      if (slugs.length === 0) return new Map();
      const rows = await db.tenant.findMany({ where: { slug: { in: [...slugs] } }, select: { id: true, slug: true } });
      return new Map(rows.map((row) => [row.slug, row.id]));
    },
  };
}

export type ApplicationStore = ReturnType<typeof createApplicationStore>;
export type ApplicationRow = NonNullable<Awaited<ReturnType<ApplicationStore["findById"]>>>;
