import type { AuditContext } from "../audit/audit-event";
import { mayUseLocalLogin } from "../local-login/login-policy";
import type { DbTx } from "../platform/db/prisma";
import type { TenantRow } from "../tenants/tenant.store";
import type { UserRow } from "../users/user.store";
import { toUserView, type UserView } from "../users/user.view";
import { passwordLink, type PasswordDeps } from "./deps";
import { passwordMail } from "./password-mail";

export type RotationMode = "reset_required" | "change_at_next_login";
export type RotationOptions = { mode: RotationMode; revokeSessions: boolean; notify: boolean };
export type RotationOutcome = "flagged" | "skipped_deactivated" | "skipped_sso_only";

/** Whom a rotation can concern: only active users who sign in with a local password. */
export function rotationOutcome(tenant: Pick<TenantRow, "ssoEnabled" | "ssoEnforced">, user: Pick<UserRow, "status" | "passwordHash" | "kind" | "ssoBypass">): RotationOutcome {
  if (user.status !== "active") return "skipped_deactivated";
  if (!user.passwordHash || !mayUseLocalLogin(tenant, user).allowed) return "skipped_sso_only";
  return "flagged";
}

export function rotationNotice(deps: Pick<PasswordDeps, "regionUrls">, tenant: Pick<TenantRow, "name" | "region">, email: string, mode: RotationMode) {
  return passwordMail.rotationRequired({ to: email, tenantName: tenant.name, link: passwordLink(deps, tenant.region, "forgot"), mode });
}

/** Per-user forced rotation from the admin API (campaigns do the same for many users). */
export function createRotationService(deps: PasswordDeps) {
  return {
    async requireRotation(tenant: TenantRow, user: UserRow, options: RotationOptions, context: AuditContext): Promise<UserView> {
      const notify = options.notify && rotationOutcome(tenant, user) === "flagged";
      const updated = await deps.db.$transaction(async (tx: DbTx) => {
        const row = await tx.user.update({ where: { id: user.id }, data: { passwordRotation: options.mode } });
        await deps.auditStore.insert(tx, context, {
          type: "password.rotation_required", tenantId: tenant.id, target: { type: "user", id: user.id },
          data: { mode: options.mode, revokeSessions: options.revokeSessions, notified: notify },
        });
        if (notify) await deps.outbox.enqueue(tx, { ...rotationNotice(deps, tenant, user.email, options.mode), kind: "password_rotation", tenantId: tenant.id });
        return row;
      });
      if (options.revokeSessions) await deps.sessions.revokeUserSessions(user.id);
      return toUserView(updated);
    },
  };
}

export type RotationService = ReturnType<typeof createRotationService>;
