import type { AuditContext } from "../audit/audit-event";
import { AppError, notFound } from "../platform/errors";
import type { TenantRow } from "../tenants/tenant.store";
import { mayUseLocalLogin } from "./login-policy";
import type { LocalLoginDeps, LoginClient } from "./deps";
import type { PendingLogin } from "./pending-login.store";

export type FinishedLogin = { sessionToken: string; sessionId: string; returnTo: string; mustChangePassword: boolean };

/** The one place a regional login becomes a session: new token, audit, bypass notice. */
export async function finishLocalLogin(
  deps: LocalLoginDeps,
  pending: PendingLogin,
  client: LoginClient,
  factor: { assurance: "aal1" | "aal2"; amr: string[] },
): Promise<FinishedLogin> {
  const tenant = await deps.tenantStore.findById(deps.db, pending.tenantId);
  const user = await deps.userStore.findInTenant(deps.db, pending.tenantId, pending.userId);
  // Deactivated or deleted while the second step was pending: nothing is granted.
  if (!tenant || !user || user.status !== "active") throw notFound("Account");
  if (pending.sso) return finishSsoWithLocalFactor(deps, { tenant, user, pending, sso: pending.sso }, client, factor);
  // The policy may have changed while the second step was pending (support just enforced SSO).
  const policy = mayUseLocalLogin(tenant, user);
  if (!policy.allowed) throw new AppError("forbidden", "Your organisation requires you to sign in with its single sign-on.");
  const mustChangePassword = user.passwordRotation === "change_at_next_login";
  const { token, session } = await deps.sessions.startSession({
    user: { id: user.id, tenantId: tenant.id, email: user.email, name: user.name },
    tenant,
    method: "password",
    assurance: factor.assurance,
    amr: factor.amr,
    ip: client.ip,
    userAgent: client.userAgent ?? "",
    // change_at_next_login: the session reaches only the password-change page until the password changes.
    ...(mustChangePassword ? { restriction: "password_change" as const } : {}),
  });
  const context: AuditContext = { actor: { type: "user", id: user.id }, ip: client.ip, requestId: client.requestId };
  const target = { type: "user", id: user.id };
  await deps.db.$transaction(async (tx) => {
    await deps.auditStore.insert(tx, context, { type: "login.succeeded", tenantId: tenant.id, target, data: { method: "password", region: pending.region, amr: factor.amr } });
    if (!policy.bypass) return;
    // A member walked around SSO: audited, and the tenant's admins hear of it (durably, with the audit row).
    await deps.auditStore.insert(tx, context, { type: "login.bypass", tenantId: tenant.id, target, data: { region: pending.region } });
    const admins = await deps.userStore.listActiveAdmins(tx, tenant.id);
    const recipients = new Set([...admins.map((a) => a.email), ...(tenant.securityContactEmail ? [tenant.securityContactEmail] : [])]);
    const text = bypassNotice({ tenantName: tenant.name, userEmail: user.email, ip: client.ip, at: deps.clock.now() });
    await deps.outbox.enqueueMany(tx, [...recipients].map((to) => ({ to, subject: `Bypass sign-in to ${tenant.name}`, text, kind: "bypass_notice", tenantId: tenant.id })));
  });
  return { sessionToken: token, sessionId: session.id, returnTo: pending.returnTo, mustChangePassword };
}

/**
 * The end of an SSO login that also needed the local TOTP: an SSO session (no local password was used,
 * so neither the bypass rules nor a forced password change apply), with the IdP's and the local factors.
 */
async function finishSsoWithLocalFactor(
  deps: LocalLoginDeps,
  login: { tenant: TenantRow; user: { id: string; email: string; name: string }; pending: PendingLogin; sso: NonNullable<PendingLogin["sso"]> },
  client: LoginClient,
  factor: { assurance: "aal1" | "aal2"; amr: string[] },
): Promise<FinishedLogin> {
  const { tenant, user, pending, sso } = login;
  const amr = [...new Set([...sso.amr, ...factor.amr.filter((value) => value !== "pwd")])];
  const { token, session } = await deps.sessions.startSession({
    user: { id: user.id, tenantId: tenant.id, email: user.email, name: user.name },
    tenant,
    method: sso.method,
    assurance: factor.assurance,
    amr,
    ip: client.ip,
    userAgent: client.userAgent ?? "",
    sso: sso.session,
  });
  const context: AuditContext = { actor: { type: "user", id: user.id }, ip: client.ip, requestId: client.requestId };
  await deps.auditStore.insert(deps.db, context, {
    type: "sso.login.succeeded", tenantId: tenant.id, target: { type: "user", id: user.id },
    data: { connectionId: sso.session.connectionId, protocol: sso.method, localSecondFactor: true, authnContext: sso.session.authnContext ?? null, amr },
  });
  return { sessionToken: token, sessionId: session.id, returnTo: pending.returnTo, mustChangePassword: false };
}

function bypassNotice(notice: { tenantName: string; userEmail: string; ip: string; at: Date }): string {
  return [
    `${notice.userEmail} signed in to ${notice.tenantName} through the local login URL, bypassing single sign-on.`,
    `Time: ${notice.at.toISOString()}`,
    `IP address: ${notice.ip}`,
    "",
    "If this was expected (break-glass access while the identity provider is unavailable), no action is needed.",
    "Otherwise, contact your Gatehouse administrator.",
  ].join("\n");
}
