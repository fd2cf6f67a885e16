import type { Db, DbTx } from "../platform/db/prisma";

export function createSsoPolicyStore() {
  return {
    /**
     * Locks the tenant row until the transaction ends. The toggle and connection changes both take it,
     * so "SSO enabled with no enabled connection" cannot come out of two concurrent requests.
     */
    lockTenant: async (tx: DbTx, tenantId: string) => {
      const rows = await tx.$queryRaw<{ sso_enabled: boolean; sso_enforced: boolean }[]>`
        SELECT sso_enabled, sso_enforced FROM tenants WHERE id = ${tenantId}::uuid FOR UPDATE`;
      const row = rows[0];
      return row ? { enabled: row.sso_enabled, enforced: row.sso_enforced } : null;
    },
    setPolicy: (tx: DbTx, tenantId: string, policy: { enabled: boolean; enforced: boolean }) =>
      tx.tenant.update({ where: { id: tenantId }, data: { ssoEnabled: policy.enabled, ssoEnforced: policy.enforced }, select: { ssoEnabled: true, ssoEnforced: true } }),
    /**
     * Admins who can still get in through a regional bypass URL when SSO is enforced: active, on the
     * bypass list, with a usable password (not blocked by a forced reset) and TOTP enrolled.
     */
    countBreakGlassAdmins: (db: Db | DbTx, tenantId: string) =>
      db.user.count({
        where: {
          tenantId, role: "admin", status: "active", ssoBypass: true,
          passwordHash: { not: null }, totpSecret: { not: null }, totpEnrolledAt: { not: null },
          OR: [{ passwordRotation: null }, { passwordRotation: { not: "reset_required" } }],
        },
      }),
  };
}

export type SsoPolicyStore = ReturnType<typeof createSsoPolicyStore>;
