import type { Db, DbTx } from "../platform/db/prisma";
import type { UserCreateInput, UserUpdateInput } from "./user.schemas";
import { emailKeyOf } from "./user.schemas";

export type UserListFilter = { tenantId: string; afterId?: string; limit: number; email?: string; status?: "active" | "deactivated"; kind?: "member" | "contractor" | "client" };

function endOpenLinks(tx: DbTx, userId: string, at: Date) {
  return tx.passwordToken.updateMany({ where: { userId, usedAt: null }, data: { usedAt: at } });
}

export function createUserStore() {
  return {
    findInTenant: (db: Db | DbTx, tenantId: string, id: string) => db.user.findFirst({ where: { id, tenantId } }),
    findByEmail: (db: Db | DbTx, tenantId: string, email: string) =>
      db.user.findUnique({ where: { tenantId_emailKey: { tenantId, emailKey: emailKeyOf(email) } } }),
    create: (tx: DbTx, tenantId: string, input: Omit<UserCreateInput, "password">, password?: { hash: string; at: Date }) =>
      tx.user.create({
        data: { ...input, tenantId, emailKey: emailKeyOf(input.email), ...(password ? { passwordHash: password.hash, passwordChangedAt: password.at } : {}) },
      }),
    update: async (
      tx: DbTx,
      id: string,
      input: Omit<UserUpdateInput, "status" | "password">,
      extra: { status?: { status: "active" | "deactivated"; deactivatedAt: Date | null }; password?: { hash: string; at: Date } } = {},
    ) => {
      // A new password or a corrected address ends every link mailed before it (reset, invitation).
      if (extra.password || input.email) await endOpenLinks(tx, id, extra.password?.at ?? new Date());
      return tx.user.update({
        where: { id },
        data: {
          ...input,
          ...(input.email ? { emailKey: emailKeyOf(input.email) } : {}),
          ...(extra.status ?? {}),
          ...(extra.password ? { passwordHash: extra.password.hash, passwordChangedAt: extra.password.at } : {}),
        },
      });
    },
    setPasswordHash: (db: Db | DbTx, id: string, passwordHash: string, changedAt: Date) =>
      db.user.update({ where: { id }, data: { passwordHash, passwordChangedAt: changedAt } }),
    /** A new password ends any forced rotation and completes the user's open rotation campaigns. */
    async setPasswordAfterRotation(tx: DbTx, id: string, passwordHash: string, at: Date) {
      await tx.rotationCampaignUser.updateMany({ where: { userId: id, outcome: "flagged", completedAt: null }, data: { completedAt: at } });
      await endOpenLinks(tx, id, at);
      return tx.user.update({ where: { id }, data: { passwordHash, passwordChangedAt: at, passwordRotation: null } });
    },
    setTotp: (tx: DbTx, id: string, sealedSecret: string | null, enrolledAt: Date | null) =>
      tx.user.update({ where: { id }, data: { totpSecret: sealedSecret, totpEnrolledAt: enrolledAt } }),
    /** Admins of a tenant who get security notices (bypass logins). */
    listActiveAdmins: (db: Db | DbTx, tenantId: string) =>
      db.user.findMany({ where: { tenantId, role: "admin", status: "active" }, select: { email: true } }),
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
