import type { AuditContext } from "../audit/audit-event";
import { isIpAllowed } from "../tenants/ip-allowlist";
import type { TenantRow } from "../tenants/tenant.store";
import { emailKeyOf } from "../users/user.schemas";
import type { UserRow } from "../users/user.store";
import { withAttemptLock } from "../platform/throttle/attempt-lock";
import type { LocalLoginDeps, LoginClient } from "./deps";
import { mayUseLocalLogin } from "./login-policy";

export type PasswordStepInput = { region: string; tenantSlug: string; email: string; password: string; returnTo: string };

export type PasswordStepResult =
  | { kind: "failed" }
  | { kind: "throttled"; retryAfterSeconds: number }
  | { kind: "ip_blocked" }
  | { kind: "wrong_region"; location: string }
  | { kind: "sso_required"; tenantSlug: string }
  | { kind: "pending"; token: string; next: "mfa" | "enroll" };

/**
 * The password step of the regional login. Every failure that could reveal whether the tenant or
 * account exists gives the same result after the same bcrypt work; only a correct password learns more.
 */
export async function startLocalLogin(deps: LocalLoginDeps, input: PasswordStepInput, client: LoginClient): Promise<PasswordStepResult> {
  const context: AuditContext = { actor: { type: "anonymous" }, ip: client.ip, requestId: client.requestId };
  const tenant = await deps.tenantStore.findBySlug(deps.db, input.tenantSlug.trim().toLowerCase());
  if (tenant && !isIpAllowed(tenant.ipAllowlist, client.ip)) {
    await deps.auditStore.insert(deps.db, context, { type: "login.failed", tenantId: tenant.id, data: { reason: "ip_not_allowed" } });
    return { kind: "ip_blocked" };
  }
  if (tenant && tenant.region !== input.region) {
    const base = deps.regionUrls[tenant.region] ?? deps.publicUrl;
    return { kind: "wrong_region", location: `${base}/${tenant.region}/login?tenant=${encodeURIComponent(tenant.slug)}` };
  }

  const account = `${tenant?.id ?? `unknown:${input.tenantSlug.trim().toLowerCase()}`}:${emailKeyOf(input.email)}`;
  const busy: PasswordStepResult = { kind: "throttled", retryAfterSeconds: 1 };
  return withAttemptLock(deps.kv, `login:${account}:${client.ip}`, busy, () => checkPassword(deps, { tenant, account, input, client, context }));
}

async function checkPassword(
  deps: LocalLoginDeps,
  args: { tenant: TenantRow | null; account: string; input: PasswordStepInput; client: LoginClient; context: AuditContext },
): Promise<PasswordStepResult> {
  const { tenant, account, input, client, context } = args;
  const gate = await deps.throttle.check({ account, ip: client.ip, action: "login" });
  if (!gate.allowed) {
    await deps.auditStore.insert(deps.db, context, { type: "login.throttled", tenantId: tenant?.id ?? null, data: { step: "password", reason: gate.reason } });
    return { kind: "throttled", retryAfterSeconds: gate.retryAfterSeconds };
  }

  const user = tenant ? await deps.userStore.findByEmail(deps.db, tenant.id, input.email) : null;
  const passwordOk = user?.passwordHash ? await deps.hasher.verify(input.password, user.passwordHash) : await deps.hasher.verifyDummy(input.password);
  // A reset_required rotation disables the old password: same answer as a wrong one (the page links forgot-password).
  const resetRequired = user?.passwordRotation === "reset_required";
  if (!tenant || !user || !passwordOk || user.status !== "active" || resetRequired) {
    await deps.throttle.recordFailure({ account, ip: client.ip, action: "login" });
    const reason = !tenant ? "unknown_tenant" : !user ? "unknown_user" : !passwordOk ? "wrong_password" : user.status !== "active" ? "deactivated" : "reset_required";
    await deps.auditStore.insert(deps.db, { ...context, actor: user ? { type: "user", id: user.id } : context.actor }, {
      type: "login.failed", tenantId: tenant?.id ?? null, data: { reason, step: "password" }, ...(user ? { target: { type: "user", id: user.id } } : {}),
    });
    return { kind: "failed" };
  }
  await deps.throttle.recordSuccess({ account, ip: client.ip, action: "login" });
  return afterCorrectPassword(deps, { tenant, user, input, client, context });
}

async function afterCorrectPassword(
  deps: LocalLoginDeps,
  args: { tenant: TenantRow; user: UserRow; input: PasswordStepInput; client: LoginClient; context: AuditContext },
): Promise<PasswordStepResult> {
  const { tenant, user, input, client } = args;
  const context: AuditContext = { ...args.context, actor: { type: "user", id: user.id } };
  const policy = mayUseLocalLogin(tenant, user);
  if (!policy.allowed) {
    await deps.auditStore.insert(deps.db, context, { type: "login.failed", tenantId: tenant.id, target: { type: "user", id: user.id }, data: { reason: "sso_required", step: "password" } });
    return { kind: "sso_required", tenantSlug: tenant.slug };
  }
  if (deps.hasher.needsRehash(user.passwordHash!)) {
    // Cost or pepper key changed since this hash was made: upgrade it while the password is at hand.
    await deps.userStore.setPasswordHash(deps.db, user.id, await deps.hasher.hash(input.password), user.passwordChangedAt ?? deps.clock.now());
  }
  const next = user.totpSecret ? "mfa" : "enroll";
  // A user with a second factor is asked for it anyway; one without may skip setting it up unless an app asked for it.
  const stepUp = next === "enroll" && !tenant.mfaRequired && (await deps.secondFactorRequiredFor(input.returnTo));
  const token = await deps.pending.create({
    userId: user.id, tenantId: tenant.id, region: input.region, browserId: client.browserId, returnTo: input.returnTo,
    stage: next, createdAt: deps.clock.now().getTime(), ...(stepUp ? { stepUp } : {}),
  });
  return { kind: "pending", token, next };
}
