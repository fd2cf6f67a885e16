import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import type { SecretBox } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import type { KvStore } from "../platform/kv/kv-store";
import type { OutboxStore } from "../platform/mail/outbox.store";
import { withAttemptLock } from "../platform/throttle/attempt-lock";
import type { AuthThrottle } from "../platform/throttle/throttle";
import type { TenantStore } from "../tenants/tenant.store";
import type { UserStore } from "../users/user.store";
import type { RecoveryCodeHasher } from "./recovery-code-hasher";
import type { RecoveryCodeStore } from "./recovery-code.store";
import type { TotpVerifier } from "./totp";

export type GuardDeps = { db: Db; kv: KvStore; throttle: AuthThrottle; auditStore: AuditStore };

/** What the account page's second-factor services (new recovery codes, a new authenticator app) work with. */
export type FactorDeps = GuardDeps & {
  clock: Clock;
  userStore: UserStore;
  tenantStore: TenantStore;
  recoveryCodeStore: RecoveryCodeStore;
  recoveryHasher: RecoveryCodeHasher;
  secretBox: SecretBox;
  totp: TotpVerifier;
  outbox: OutboxStore;
};

/** Who offers a code of their second factor, from where, and for what (audited as `step`). */
export type FactorAttempt = { userId: string; tenantId: string; ip: string; requestId?: string; step: string };

export type Guarded<T> = { kind: "passed"; value: T } | { kind: "throttled"; retryAfterSeconds: number } | { kind: "wrong_code" };

/**
 * The lock and the throttle counters of every check of a user's second-factor code, at login and on the
 * account page alike: one place, so that the two can never count apart.
 */
export const secondFactorLockKey = (userId: string, ip: string) => `mfa:${userId}:${ip}`;
export const secondFactorSubject = (userId: string, ip: string) => ({ account: `user:${userId}`, ip, action: "mfa" as const });

/**
 * A signed-in user's code of their second factor, checked as the login's code step checks one: one check
 * at a time per account and IP (the same lock), the same throttle counters, and every failure audited.
 * `check` answers the value proved, or null for a wrong code.
 */
export async function guardedFactorCheck<T>(deps: GuardDeps, attempt: FactorAttempt, check: () => Promise<T | null>): Promise<Guarded<T>> {
  const busy: Guarded<T> = { kind: "throttled", retryAfterSeconds: 1 };
  return withAttemptLock(deps.kv, secondFactorLockKey(attempt.userId, attempt.ip), busy, async (): Promise<Guarded<T>> => {
    const subject = secondFactorSubject(attempt.userId, attempt.ip);
    const context = { actor: { type: "user" as const, id: attempt.userId }, ip: attempt.ip, requestId: attempt.requestId };
    const gate = await deps.throttle.check(subject);
    if (!gate.allowed) {
      await deps.auditStore.insert(deps.db, context, { type: "login.throttled", tenantId: attempt.tenantId, data: { step: attempt.step, reason: gate.reason } });
      return { kind: "throttled", retryAfterSeconds: gate.retryAfterSeconds };
    }
    const value = await check();
    if (value === null) {
      await deps.throttle.recordFailure(subject);
      await deps.auditStore.insert(deps.db, context, { type: "mfa.failed", tenantId: attempt.tenantId, target: { type: "user", id: attempt.userId }, data: { step: attempt.step } });
      return { kind: "wrong_code" };
    }
    await deps.throttle.recordSuccess(subject);
    return { kind: "passed", value };
  });
}
