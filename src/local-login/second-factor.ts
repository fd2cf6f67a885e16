import type { AuditContext } from "../audit/audit-event";
import { checkFactorCode } from "../mfa/factor-code";
import { secondFactorLockKey, secondFactorSubject } from "../mfa/guarded-factor-check";
import { generateRecoveryCodes } from "../mfa/recovery-codes";
import { accountLabel, securityNotice } from "../mfa/security-notice";
import { generateTotpSecret, totpSecretContext, totpUri } from "../mfa/totp";
import { withAttemptLock } from "../platform/throttle/attempt-lock";
import type { LocalLoginDeps, LoginClient } from "./deps";
import { finishLocalLogin, type FinishedLogin } from "./finish-login";
import type { PendingLogin } from "./pending-login.store";

/** Five wrong codes end the pending login: the attacker must get the password right again. */
export const MAX_SECOND_FACTOR_FAILURES = 5;

export type SecondFactorResult =
  | { kind: "no_pending" }
  | { kind: "throttled"; retryAfterSeconds: number }
  | { kind: "failed"; attemptsLeft: number }
  | { kind: "finished"; login: FinishedLogin; showRecoveryCodes: boolean };

/** A pending login counts only in the browser it was created for and at the stage it is in. */
export async function loadPending(deps: LocalLoginDeps, token: string | undefined, client: LoginClient, stage: PendingLogin["stage"]): Promise<PendingLogin | null> {
  if (!token) return null;
  const pending = await deps.pending.get(token);
  if (!pending || pending.browserId !== client.browserId || pending.stage !== stage) return null;
  return pending;
}

export async function verifySecondFactor(deps: LocalLoginDeps, token: string | undefined, code: string, client: LoginClient): Promise<SecondFactorResult> {
  const pending = await loadPending(deps, token, client, "mfa");
  if (!pending || !token) return { kind: "no_pending" };
  const busy: SecondFactorResult = { kind: "throttled", retryAfterSeconds: 1 };
  return withAttemptLock(deps.kv, secondFactorLockKey(pending.userId, client.ip), busy, () => checkSecondFactor(deps, token, pending, code, client));
}

async function checkSecondFactor(deps: LocalLoginDeps, token: string, pending: PendingLogin, code: string, client: LoginClient): Promise<SecondFactorResult> {
  const subject = secondFactorSubject(pending.userId, client.ip);
  const context: AuditContext = { actor: { type: "user", id: pending.userId }, ip: client.ip, requestId: client.requestId };
  const gate = await deps.throttle.check(subject);
  if (!gate.allowed) {
    await deps.auditStore.insert(deps.db, context, { type: "login.throttled", tenantId: pending.tenantId, data: { step: "mfa", reason: gate.reason } });
    return { kind: "throttled", retryAfterSeconds: gate.retryAfterSeconds };
  }
  const attempt = await startAttempt(deps, token);
  if (attempt === null) return { kind: "no_pending" };
  const factor = await checkCode(deps, pending, code.trim());
  if (!factor) {
    await deps.throttle.recordFailure(subject);
    await deps.auditStore.insert(deps.db, context, { type: "mfa.failed", tenantId: pending.tenantId, target: { type: "user", id: pending.userId }, data: { failures: attempt } });
    return failedAttempt(deps, token, attempt);
  }
  // Consumed atomically: a pending login yields at most one session.
  if (!(await deps.pending.consume(token))) return { kind: "no_pending" };
  await deps.throttle.recordSuccess(subject);
  return { kind: "finished", login: await finishLocalLogin(deps, pending, client, factor), showRecoveryCodes: false };
}

/** Counts the attempt before checking it; past the cap the pending login is over. */
async function startAttempt(deps: LocalLoginDeps, token: string): Promise<number | null> {
  const attempt = await deps.pending.countAttempt(token);
  if (attempt > MAX_SECOND_FACTOR_FAILURES) {
    await deps.pending.discard(token);
    return null;
  }
  return attempt;
}

async function failedAttempt(deps: LocalLoginDeps, token: string, attempt: number): Promise<SecondFactorResult> {
  if (attempt >= MAX_SECOND_FACTOR_FAILURES) await deps.pending.discard(token);
  return { kind: "failed", attemptsLeft: Math.max(0, MAX_SECOND_FACTOR_FAILURES - attempt) };
}

async function checkCode(deps: LocalLoginDeps, pending: PendingLogin, code: string): Promise<{ assurance: "aal2"; amr: string[] } | null> {
  const user = await deps.userStore.findInTenant(deps.db, pending.tenantId, pending.userId);
  if (!user) return null;
  const used = await checkFactorCode(deps, user, code, { recoveryCodes: true });
  if (used === "totp") return { assurance: "aal2", amr: ["pwd", "otp", "mfa"] };
  return used === "recovery_code" ? { assurance: "aal2", amr: ["pwd", "mfa"] } : null;
}

export type EnrolmentOffer = { secret: string; uri: string; canSkip: boolean };

/** Offers a TOTP secret for this pending login (the same one on reload), kept sealed until confirmed. */
export async function offerEnrolment(deps: LocalLoginDeps, token: string | undefined, client: LoginClient): Promise<EnrolmentOffer | null> {
  const pending = await loadPending(deps, token, client, "enroll");
  if (!pending || !token) return null;
  const user = await deps.userStore.findInTenant(deps.db, pending.tenantId, pending.userId);
  const tenant = await deps.tenantStore.findById(deps.db, pending.tenantId);
  if (!user || !tenant) return null;
  const context = totpSecretContext(user.id);
  let secret: string;
  if (pending.enrollSecret) {
    secret = deps.secretBox.open(pending.enrollSecret, context);
  } else {
    secret = await generateTotpSecret();
    await deps.pending.update(token, { ...pending, enrollSecret: deps.secretBox.seal(secret, context) });
  }
  return { secret, uri: totpUri({ secret, accountName: user.email, issuer: "Gatehouse" }), canSkip: !tenant.mfaRequired && !pending.sso && !pending.stepUp };
}

export async function confirmEnrolment(deps: LocalLoginDeps, token: string | undefined, code: string, client: LoginClient): Promise<SecondFactorResult> {
  const pending = await loadPending(deps, token, client, "enroll");
  if (!pending?.enrollSecret || !token) return { kind: "no_pending" };
  const attempt = await startAttempt(deps, token);
  if (attempt === null) return { kind: "no_pending" };
  const secret = deps.secretBox.open(pending.enrollSecret, totpSecretContext(pending.userId));
  const result = await deps.totp.verify(pending.userId, secret, code.replace(/\s/g, ""));
  if (!result.ok) return failedAttempt(deps, token, attempt);
  if (!(await deps.pending.consume(token))) return { kind: "no_pending" };
  const recoveryCodes = generateRecoveryCodes(10);
  const now = deps.clock.now();
  const [user, tenant] = await Promise.all([deps.userStore.findInTenant(deps.db, pending.tenantId, pending.userId), deps.tenantStore.findById(deps.db, pending.tenantId)]);
  await deps.db.$transaction(async (tx) => {
    await deps.userStore.setTotp(tx, pending.userId, pending.enrollSecret!, now);
    await deps.recoveryCodeStore.replaceAll(tx, pending.userId, recoveryCodes.map((c) => deps.recoveryHasher.forStorage(c)));
    await deps.auditStore.insert(tx, { actor: { type: "user", id: pending.userId }, ip: client.ip, requestId: client.requestId }, {
      type: "mfa.enrolled", tenantId: pending.tenantId, target: { type: "user", id: pending.userId }, data: { factor: "totp", recoveryCodes: recoveryCodes.length },
    });
    // Someone who had only the password could enrol their own app and shut the owner out: the owner hears of it.
    if (user) await deps.outbox.enqueue(tx, { ...enrolledNotice(now, tenant?.name ?? "", user.email, client.ip), kind: "mfa_enrolled", tenantId: pending.tenantId });
  });
  const login = await finishLocalLogin(deps, pending, client, { assurance: "aal2", amr: ["pwd", "otp", "mfa"] });
  await deps.recoveryNotices.put(login.sessionId, recoveryCodes);
  return { kind: "finished", login, showRecoveryCodes: true };
}

/** Only where the tenant does not require MFA: the user may decline enrolment and get an aal1 session. */
export async function skipEnrolment(deps: LocalLoginDeps, token: string | undefined, client: LoginClient): Promise<SecondFactorResult> {
  const pending = await loadPending(deps, token, client, "enroll");
  if (!pending || !token) return { kind: "no_pending" };
  const tenant = await deps.tenantStore.findById(deps.db, pending.tenantId);
  // An SSO login held for the local factor cannot skip it, nor one for an app that asked for a second factor.
  if (!tenant || tenant.mfaRequired || pending.sso || pending.stepUp) return { kind: "no_pending" };
  if (!(await deps.pending.consume(token))) return { kind: "no_pending" };
  return { kind: "finished", login: await finishLocalLogin(deps, pending, client, { assurance: "aal1", amr: ["pwd"] }), showRecoveryCodes: false };
}

function enrolledNotice(at: Date, tenantName: string, email: string, ip: string) {
  return securityNotice({
    to: email, subject: "Two-step verification turned on", at, ip,
    what: `Two-step verification with an authenticator app was turned on for your account ${accountLabel(email, tenantName)}.`,
    ifNotYou: "From now on, signing in asks for a code from that app. If this was not you, someone has your password: contact your administrator now.",
  });
}
