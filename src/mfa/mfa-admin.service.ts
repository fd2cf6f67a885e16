import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import { notFound } from "../platform/errors";
import type { OutboxStore } from "../platform/mail/outbox.store";
import { UUID_PATTERN } from "../platform/pagination";
import type { SessionService } from "../sessions/session.service";
import type { UserRow, UserStore } from "../users/user.store";
import { toUserView, type UserView } from "../users/user.view";
import type { RecoveryCodeStore } from "./recovery-code.store";

type Deps = {
  db: Db;
  userStore: UserStore;
  recoveryCodeStore: RecoveryCodeStore;
  auditStore: AuditStore;
  sessions: Pick<SessionService, "revokeUserSessions">;
  outbox: OutboxStore;
  clock: Clock;
};
type TenantRef = { id: string; name: string };

/** What an admin can do about a user's second factor. */
export function createMfaAdminService(deps: Deps) {
  const { db, userStore, recoveryCodeStore, auditStore } = deps;

  return {
    /**
     * Removes the TOTP secret and every recovery code; the next login asks for a new enrolment.
     * Sessions end too: one may have been opened with the factor being reset (lost or stolen phone).
     */
    async resetMfa(tenant: TenantRef, userId: string, context: AuditContext): Promise<UserView> {
      const user = await db.$transaction(async (tx) => {
        const found = UUID_PATTERN.test(userId) ? await userStore.findInTenant(tx, tenant.id, userId) : null;
        if (!found) throw notFound("User");
        const updated = await userStore.setTotp(tx, found.id, null, null);
        const codes = await recoveryCodeStore.deleteAll(tx, found.id);
        await auditStore.insert(tx, context, {
          type: "mfa.reset", tenantId: tenant.id, target: { type: "user", id: found.id },
          data: { by: "admin", hadTotp: found.totpSecret !== null, recoveryCodesRemoved: codes.count },
        });
        // Deactivated accounts get no mail; the notice commits with the reset (durable outbox).
        if (found.status === "active") await deps.outbox.enqueue(tx, { ...resetNotice(deps, tenant, found), kind: "mfa_reset", tenantId: tenant.id });
        return updated;
      });
      // Sessions live in the KV store, outside the transaction: ended once the reset is committed.
      const count = await deps.sessions.revokeUserSessions(user.id);
      if (count > 0) {
        await auditStore.insert(db, context, { type: "session.revoked", tenantId: tenant.id, target: { type: "user", id: user.id }, data: { by: "admin", reason: "mfa_reset", count } });
      }
      return toUserView(user);
    },
  };
}

function resetNotice(deps: Deps, tenant: TenantRef, user: UserRow) {
  const text = [
    `An administrator of ${tenant.name} removed the two-step verification (authenticator app and recovery codes) from your account ${user.email}.`,
    `Time: ${deps.clock.now().toISOString()}`,
    "",
    "You have been signed out everywhere. The next time you sign in, you will be asked to set up an authenticator app again.",
    "If you did not ask for this, contact your administrator.",
  ].join("\n");
  return { to: user.email, subject: `Two-step verification reset for ${tenant.name}`, text };
}

export type MfaAdminService = ReturnType<typeof createMfaAdminService>;
