import type { AuditContext } from "../audit/audit-event";
import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import type { SecretBox } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import type { OutboxStore } from "../platform/mail/outbox.store";
import type { KvStore } from "../platform/kv/kv-store";
import { withAttemptLock } from "../platform/throttle/attempt-lock";
import type { AuthThrottle } from "../platform/throttle/throttle";
import type { TenantStore } from "../tenants/tenant.store";
import type { UserRow, UserStore } from "../users/user.store";
import type { RecoveryCodeHasher } from "./recovery-code-hasher";
import type { RecoveryCodeStore } from "./recovery-code.store";
import { generateRecoveryCodes } from "./recovery-codes";
import { totpSecretContext, type TotpVerifier } from "./totp";

export const RECOVERY_CODE_COUNT = 10;

type Deps = {
  db: Db;
  kv: KvStore;
  clock: Clock;
  userStore: UserStore;
  tenantStore: TenantStore;
  recoveryCodeStore: RecoveryCodeStore;
  recoveryHasher: RecoveryCodeHasher;
  secretBox: SecretBox;
  totp: TotpVerifier;
  throttle: AuthThrottle;
  auditStore: AuditStore;
  outbox: OutboxStore;
};

/** Who asks: the signed-in user, from this address. */
export type Requester = { userId: string; tenantId: string; ip: string; requestId?: string };

export type RegenerationResult =
  | { kind: "regenerated"; codes: string[] }
  | { kind: "no_authenticator" }
  | { kind: "throttled"; retryAfterSeconds: number }
  | { kind: "wrong_code" };

/**
 * A new set of recovery codes for a user who has used up, lost or exposed the old ones. A session alone
 * is not enough: the user proves again that they hold the authenticator with a current TOTP code, so a
 * stolen session cookie cannot mint codes that outlive it. Attempts count toward the same per-account
 * throttle as the login's code step, and codes are single-use across both (the verifier's last step).
 */
export function createRecoveryCodeRegeneration(deps: Deps) {
  return {
    /** Unused codes the user still holds, or null without an authenticator (no codes to speak of). */
    async unusedCount(userId: string, tenantId: string): Promise<number | null> {
      const user = await deps.userStore.findInTenant(deps.db, tenantId, userId);
      if (!user?.totpSecret) return null;
      return deps.recoveryCodeStore.countUnused(deps.db, userId);
    },

    async regenerate(requester: Requester, code: string): Promise<RegenerationResult> {
      const user = await deps.userStore.findInTenant(deps.db, requester.tenantId, requester.userId);
      const sealed = user?.totpSecret;
      if (!user || !sealed || user.status !== "active") return { kind: "no_authenticator" };
      // One code check at a time per account and IP, shared with the login's code step: parallel guesses
      // would otherwise all pass the same throttle check before any failure is counted.
      const busy: RegenerationResult = { kind: "throttled", retryAfterSeconds: 1 };
      return withAttemptLock(deps.kv, `mfa:${user.id}:${requester.ip}`, busy, () => checkAndReplace(user, sealed, requester, code));
    },
  };

  async function checkAndReplace(user: UserRow, sealedSecret: string, requester: Requester, code: string): Promise<RegenerationResult> {
    const context: AuditContext = { actor: { type: "user", id: user.id }, ip: requester.ip, requestId: requester.requestId };
    const subject = { account: `user:${user.id}`, ip: requester.ip, action: "mfa" as const };
    const gate = await deps.throttle.check(subject);
    if (!gate.allowed) {
      await deps.auditStore.insert(deps.db, context, { type: "login.throttled", tenantId: user.tenantId, data: { step: "recovery_codes", reason: gate.reason } });
      return { kind: "throttled", retryAfterSeconds: gate.retryAfterSeconds };
    }
    const secret = deps.secretBox.open(sealedSecret, totpSecretContext(user.id));
    const verified = await deps.totp.verify(user.id, secret, code.replace(/\s/g, ""));
    if (!verified.ok) {
      await deps.throttle.recordFailure(subject);
      await deps.auditStore.insert(deps.db, context, { type: "mfa.failed", tenantId: user.tenantId, target: { type: "user", id: user.id }, data: { step: "recovery_codes", reason: verified.reason } });
      return { kind: "wrong_code" };
    }
    await deps.throttle.recordSuccess(subject);
    const codes = generateRecoveryCodes(RECOVERY_CODE_COUNT);
    const tenant = await deps.tenantStore.findById(deps.db, user.tenantId);
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
    return { kind: "regenerated", codes };
  }
}

function regeneratedNotice(clock: Clock, tenantName: string, user: UserRow, ip: string) {
  const text = [
    `New recovery codes were made for your account ${user.email}${tenantName ? ` (${tenantName})` : ""}. Your earlier recovery codes no longer work.`,
    `Time: ${clock.now().toISOString()}`,
    `From: ${ip}`,
    "",
    "If this was not you, someone has your password or session and your authenticator app: contact your administrator now.",
  ].join("\n");
  return { to: user.email, subject: "New recovery codes for your account", text };
}

export type RecoveryCodeRegeneration = ReturnType<typeof createRecoveryCodeRegeneration>;
