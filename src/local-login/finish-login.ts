import type { AuditContext } from "../audit/audit-event";
import { AppError, notFound } from "../platform/errors";
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
  // The policy may have changed while the second step was pending (support just enforced SSO).
  const policy = mayUseLocalLogin(tenant, user);
  if (!policy.allowed) throw new AppError("forbidden", "Your organisation requires you to sign in with its single sign-on.");
  const mustChangePassword = user.passwordRotation === "change_at_next_login";
  const { token, session } = await deps.sessions.startSession({
    user: { id: user.id, tenantId: tenant.id },
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
  await deps.auditStore.insert(deps.db, context, { type: "login.succeeded", tenantId: tenant.id, target, data: { method: "password", region: pending.region, amr: factor.amr } });
  if (policy.bypass) {
    await deps.auditStore.insert(deps.db, context, { type: "login.bypass", tenantId: tenant.id, target, data: { region: pending.region } });
    await notifyBypass(deps, { tenantId: tenant.id, tenantName: tenant.name, securityContact: tenant.securityContactEmail, userEmail: user.email, ip: client.ip });
  }
  return { sessionToken: token, sessionId: session.id, returnTo: pending.returnTo, mustChangePassword };
}

async function notifyBypass(
  deps: LocalLoginDeps,
  notice: { tenantId: string; tenantName: string; securityContact: string | null; userEmail: string; ip: string },
): Promise<void> {
  const admins = await deps.userStore.listActiveAdmins(deps.db, notice.tenantId);
  const recipients = new Set([...admins.map((a) => a.email), ...(notice.securityContact ? [notice.securityContact] : [])]);
  const text = [
    `${notice.userEmail} signed in to ${notice.tenantName} through the local login URL, bypassing single sign-on.`,
    `Time: ${deps.clock.now().toISOString()}`,
    `IP address: ${notice.ip}`,
    "",
    "If this was expected (break-glass access while the identity provider is unavailable), no action is needed.",
    "Otherwise, contact your Gatehouse administrator.",
  ].join("\n");
  for (const to of recipients) {
    try {
      await deps.mailer.send({ to, subject: `Bypass sign-in to ${notice.tenantName}`, text });
    } catch (error) {
      // The login already happened and is audited; a mail outage must not undo it.
      deps.logger.error({ err: { message: (error as Error).message }, tenantId: notice.tenantId }, "bypass notice could not be sent");
    }
  }
}
