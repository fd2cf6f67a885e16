import type { Db } from "../platform/db/prisma";

/** A user as the OpenID provider sees them: the user row with the tenant's fields that decide access. */
export function createAccountStore() {
  return {
    find: (db: Db, userId: string) =>
      db.user.findUnique({
        where: { id: userId },
        select: { id: true, email: true, name: true, status: true, tenant: { select: { id: true, slug: true, region: true, ipAllowlist: true } } },
      }),
  };
}

export type AccountStore = ReturnType<typeof createAccountStore>;
export type AccountRow = NonNullable<Awaited<ReturnType<AccountStore["find"]>>>;
