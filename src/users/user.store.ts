import type { Db, DbTx } from "../platform/db/prisma";
import type { UserCreateInput, UserUpdateInput } from "./user.schemas";
import { emailKeyOf } from "./user.schemas";

export type UserListFilter = { tenantId: string; afterId?: string; limit: number; email?: string; status?: "active" | "deactivated"; kind?: "member" | "contractor" | "client" };

export function createUserStore() {
  return {
    findInTenant: (db: Db | DbTx, tenantId: string, id: string) => db.user.findFirst({ where: { id, tenantId } }),
    findByEmail: (db: Db | DbTx, tenantId: string, email: string) =>
      db.user.findUnique({ where: { tenantId_emailKey: { tenantId, emailKey: emailKeyOf(email) } } }),
    create: (tx: DbTx, tenantId: string, input: UserCreateInput) =>
      tx.user.create({ data: { ...input, tenantId, emailKey: emailKeyOf(input.email) } }),
    update: (tx: DbTx, id: string, input: Omit<UserUpdateInput, "status">, status?: { status: "active" | "deactivated"; deactivatedAt: Date | null }) =>
      tx.user.update({
        where: { id },
        data: { ...input, ...(input.email ? { emailKey: emailKeyOf(input.email) } : {}), ...(status ?? {}) },
      }),
    /** Search by email matches any part of the address, case-insensitively. */
    list: (db: Db, filter: UserListFilter) =>
      db.user.findMany({
        where: {
          tenantId: filter.tenantId,
          ...(filter.afterId ? { id: { gt: filter.afterId } } : {}),
          ...(filter.email ? { emailKey: { contains: emailKeyOf(filter.email) } } : {}),
          ...(filter.status ? { status: filter.status } : {}),
          ...(filter.kind ? { kind: filter.kind } : {}),
        },
        orderBy: { id: "asc" },
        take: filter.limit,
      }),
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
export type UserRow = NonNullable<Awaited<ReturnType<UserStore["findInTenant"]>>>;
