import type { Clock } from "../platform/clock";
import type { SessionService } from "../sessions/session.service";
import type { UserRow } from "../users/user.store";
import { checkFactorCode } from "./factor-code";
import { guardedFactorCheck, type FactorDeps } from "./guarded-factor-check";
import { generateRecoveryCodes } from "./recovery-codes";
import { accountLabel, securityNotice } from "./security-notice";

export const RECOVERY_CODE_COUNT = 10;

type Deps = FactorDeps & { sessions: Pick<SessionService, "revokeUserSessions"> };

/** Who asks: the signed-in user's session, from this address. */
export type Requester = { sessionId: string; userId: string; tenantId: string; ip: string; requestId?: string };

export type RegenerationResult =
  | { kind: "regenerated"; codes: string[]; otherSessionsEnded: number }
  | { kind: "no_authenticator" }
  | { kind: "throttled"; retryAfterSeconds: number }
  | { kind: "wrong_code" };

/**
 * A new set of recovery codes for a user who has used up, lost or exposed the old ones. A session alone
 * is not enough: the user proves again that they hold the authenticator with a current TOTP code, so a
 * stolen session cookie cannot mint codes that outlive it. The code is checked as at the login's code
 * step (guarded-factor-check.ts), and spent for the user as any code is there.
 */
export function createRecoveryCodeRegeneration(deps: Deps) {
  return {
    /** With `endOtherSessions` (the form's default), every other session of the user ends once committed. */
    async regenerate(requester: Requester, code: string, options: { endOtherSessions: boolean }): Promise<RegenerationResult> {
      const user = await deps.userStore.findInTenant(deps.db, requester.tenantId, requester.userId);
      if (!user?.totpSecret || user.status !== "active") return { kind: "no_authenticator" };
      // The app only: a recovery code cannot mint its own successors.
      const checked = await guardedFactorCheck(deps, { ...requester, step: "recovery_codes" }, () => checkFactorCode(deps, user, code, { recoveryCodes: false }));
      if (checked.kind !== "passed") return checked;
      const codes = generateRecoveryCodes(RECOVERY_CODE_COUNT);
      const tenant = await deps.tenantStore.findById(deps.db, user.tenantId);
      const context = { actor: { type: "user" as const, id: user.id }, ip: requester.ip, requestId: requester.requestId };
      await deps.db.$transaction(async (tx) => {
        const before = await deps.recoveryCodeStore.countUnused(tx, user.id);
        await deps.recoveryCodeStore.replaceAll(tx, user.id, codes.map((c) => deps.recoveryHasher.forStorage(c)));
        await deps.auditStore.insert(tx, context, {
          type: "mfa.recovery_codes_regenerated", tenantId: user.tenantId, target: { type: "user", id: user.id },
          data: { by: "user", unusedReplaced: before, recoveryCodes: codes.length },
        });
        // Told by mail in the same commit: if it was not them, they learn that someone holds their factor.
        await deps.outbox.enqueue(tx, { ...regeneratedNotice(deps.clock, tenant?.name ?? "", user, requester.ip), kind: "mfa_recovery_codes", tenantId: user.tenantId });
      });
      const otherSessionsEnded = options.endOtherSessions ? await deps.sessions.revokeUserSessions(user.id, { except: requester.sessionId }) : 0;
      if (otherSessionsEnded > 0) {
        await deps.auditStore.insert(deps.db, context, { type: "session.revoked", tenantId: user.tenantId, target: { type: "user", id: user.id }, data: { by: "user", reason: "recovery_codes_regenerated", count: otherSessionsEnded } });
      }
      return { kind: "regenerated", codes, otherSessionsEnded };
    },
  };
}

function regeneratedNotice(clock: Clock, tenantName: string, user: UserRow, ip: string) {
  return securityNotice({
    to: user.email, subject: "New recovery codes for your account", at: clock.now(), ip,
    what: `New recovery codes were made for your account ${accountLabel(user.email, tenantName)}. Your earlier recovery codes no longer work.`,
    ifNotYou: "If this was not you, someone has your password or session and your authenticator app: contact your administrator now.",
  });
}

export type RecoveryCodeRegeneration = ReturnType<typeof createRecoveryCodeRegeneration>;
