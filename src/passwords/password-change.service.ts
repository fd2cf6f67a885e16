import type { AuditContext } from "../audit/audit-event";
import type { Session } from "../sessions/session";
import type { PasswordDeps } from "./deps";
import { passwordMail } from "./password-mail";
import type { PolicyRefusal } from "./password-policy";

export type ChangePasswordInput = { currentPassword: string; newPassword: string; endOtherSessions: boolean };
export type ChangePasswordResult =
  | { kind: "changed"; newToken: string | null }
  | { kind: "wrong_current" }
  | { kind: "throttled"; retryAfterSeconds: number }
  | { kind: "refused"; reasons: PolicyRefusal[] };

/** A signed-in user changes their own password; the way out of a change-at-next-login restriction. */
export function createPasswordChangeService(deps: PasswordDeps) {
  const { db, clock } = deps;
  return {
    async changePassword(session: Session, sessionToken: string, input: ChangePasswordInput, client: { ip: string; requestId?: string }): Promise<ChangePasswordResult> {
      const user = await deps.userStore.findInTenant(db, session.tenantId, session.userId);
      const tenant = await deps.tenantStore.findById(db, session.tenantId);
      if (!user || !tenant || !user.passwordHash) return { kind: "wrong_current" };
      const subject = { account: `user:${user.id}`, ip: client.ip, action: "login" as const };
      const gate = await deps.throttle.check(subject);
      if (!gate.allowed) return { kind: "throttled", retryAfterSeconds: gate.retryAfterSeconds };
      if (!(await deps.hasher.verify(input.currentPassword, user.passwordHash))) {
        // A stolen session must not become a free password-guessing oracle.
        await deps.throttle.recordFailure(subject);
        return { kind: "wrong_current" };
      }
      const verdict = await deps.policy.check(input.newPassword, { email: user.email, tenantName: tenant.name, tenantSlug: tenant.slug, currentPasswordHash: user.passwordHash });
      if (!verdict.ok) return { kind: "refused", reasons: verdict.reasons };
      const hash = await deps.hasher.hash(verdict.normalised);
      const now = clock.now();
      const context: AuditContext = { actor: { type: "user", id: user.id }, ip: client.ip, requestId: client.requestId };
      await db.$transaction(async (tx) => {
        await deps.userStore.setPasswordAfterRotation(tx, user.id, hash, now);
        await deps.auditStore.insert(tx, context, { type: "password.changed", tenantId: tenant.id, target: { type: "user", id: user.id }, data: { by: "user", endedOtherSessions: input.endOtherSessions, ...(verdict.breachCheckUnavailable ? { breachCheckUnavailable: verdict.breachCheckUnavailable.error } : {}) } });
        await deps.outbox.enqueue(tx, { ...passwordMail.changed(user.email, tenant.name, input.endOtherSessions ? "others_ended" : "others_kept"), kind: "password_changed", tenantId: tenant.id });
      });
      if (input.endOtherSessions) await deps.sessions.revokeUserSessions(user.id, { except: session.id });
      // Privilege changed (a restriction may be lifted): the session gets a new token.
      const newToken = await deps.sessions.rotateSession(sessionToken, { restriction: null });
      return { kind: "changed", newToken };
    },
  };
}

export type PasswordChangeService = ReturnType<typeof createPasswordChangeService>;
