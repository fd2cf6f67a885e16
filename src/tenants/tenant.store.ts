import type { Db, DbTx } from "../platform/db/prisma";
import type { TenantCreateInput, TenantUpdateInput } from "./tenant.schemas";

export function createTenantStore() {
  return {
    findBySlug: (db: Db | DbTx, slug: string) => db.tenant.findUnique({ where: { slug } }),
    findById: (db: Db | DbTx, id: string) => db.tenant.findUnique({ where: { id } }),
    create: (tx: DbTx, input: TenantCreateInput) =>
      tx.tenant.create({ data: { ...input, securityContactEmail: input.securityContactEmail ?? null } }),
    update: (tx: DbTx, id: string, input: TenantUpdateInput) => tx.tenant.update({ where: { id }, data: input }),
    /** Ordered by id (time-ordered UUIDv7), after the cursor's id; `onlyId` limits a tenant-bound caller. */
    list: (db: Db, page: { afterId?: string; limit: number; onlyId?: string; region?: string }) =>
      db.tenant.findMany({
        where: {
          ...(page.afterId ? { id: { gt: page.afterId } } : {}),
          ...(page.onlyId ? { id: page.onlyId } : {}),
          ...(page.region ? { region: page.region } : {}),
        },
        orderBy: { id: "asc" },
        take: page.limit,
      }),
  };
}

export type TenantStore = ReturnType<typeof createTenantStore>;
export type TenantRow = NonNullable<Awaited<ReturnType<TenantStore["findById"]>>>;
