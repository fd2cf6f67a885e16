import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Db } from "../platform/db/prisma";
import { AppError, notFound } from "../platform/errors";
import type { TenantRow } from "../tenants/tenant.store";
import type { SsoPolicyInput } from "./connection.schemas";
import type { SsoConnectionStore } from "./connection.store";
import type { SsoPolicyStore } from "./sso-policy.store";

type Deps = { db: Db; auditStore: AuditStore; connectionStore: SsoConnectionStore; policyStore: SsoPolicyStore };

export type SsoPolicyView = { enabled: boolean; enforced: boolean };

/** The support-staff SSO toggle. Every rule is checked under a lock on the tenant row. */
export function createSsoPolicyService(deps: Deps) {
  const { db, auditStore, connectionStore, policyStore } = deps;

  return {
    async setPolicy(tenant: TenantRow, input: SsoPolicyInput, context: AuditContext): Promise<SsoPolicyView> {
      const after = { enabled: input.enabled, enforced: input.enforced };
      if (after.enforced && !after.enabled) throw new AppError("sso_not_enabled", "SSO cannot be enforced unless it is also enabled");
      return db.$transaction(async (tx) => {
        const before = await policyStore.lockTenant(tx, tenant.id);
        if (!before) throw notFound("Tenant");
        if (after.enabled && (await connectionStore.countEnabled(tx, tenant.id)) === 0) {
          throw new AppError("sso_connection_required", "Enabling SSO needs an enabled SSO connection; create one first");
        }
        let breakGlassAdmins: number | undefined;
        if (after.enforced && !before.enforced) {
          breakGlassAdmins = await policyStore.countBreakGlassAdmins(tx, tenant.id);
          // If the IdP then fails, the bypass URL is the only way in: someone must be able to use it.
          if (breakGlassAdmins === 0 && !input.force) {
            throw new AppError(
              "sso_lockout_risk",
              "No active admin of this tenant is on the SSO bypass list with a password and TOTP; enforcing SSO could lock everyone out. Send force: true to enforce anyway",
            );
          }
        }
        if (before.enabled === after.enabled && before.enforced === after.enforced) return after;
        await policyStore.setPolicy(tx, tenant.id, after);
        const forced = breakGlassAdmins === 0 && input.force;
        await auditStore.insert(tx, context, {
          type: "sso.policy.updated", tenantId: tenant.id, target: { type: "tenant", id: tenant.id },
          data: { before, after, ...(breakGlassAdmins !== undefined ? { breakGlassAdmins } : {}), ...(forced ? { forced: true } : {}) },
        });
        return after;
      });
    },
  };
}

export type SsoPolicyService = ReturnType<typeof createSsoPolicyService>;
