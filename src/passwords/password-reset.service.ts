import type { AuditContext } from "../audit/audit-event";
import { mayUseLocalLogin } from "../local-login/login-policy";
import { emailKeyOf } from "../users/user.schemas";
import type { DbTx } from "../platform/db/prisma";
import type { TenantRow } from "../tenants/tenant.store";
import type { UserRow } from "../users/user.store";
import { INVITE_TOKEN_TTL_MS, passwordLink, RESET_TOKEN_TTL_MS, type PasswordDeps } from "./deps";
import { passwordMail } from "./password-mail";
import type { PolicyRefusal } from "./password-policy";

export type ResetRequest = { tenantSlug: string; email: string };
export type ResetClient = { ip: string; requestId?: string };

export type SetPasswordResult =
  | { kind: "done"; region: string }
  | { kind: "invalid_token" }
  | { kind: "refused"; reasons: PolicyRefusal[] };

export function createPasswordResetService(deps: PasswordDeps) {
  const { db, clock } = deps;
  // Reset links issued after the answer was sent; shutdown (and tests) wait for them.
  const inFlight = new Set<Promise<void>>();

  return {
    /**
     * Forgot-password. The caller always shows the same answer; a link is mailed only to an active
     * user who may use local credentials. Returns whether a throttle refused the request.
     */
    async requestReset(request: ResetRequest, client: ResetClient): Promise<{ throttled: false } | { throttled: true; retryAfterSeconds: number }> {
      const slug = request.tenantSlug.trim().toLowerCase();
      const tenant = await deps.tenantStore.findBySlug(db, slug);
      // Unknown tenants are keyed like known ones (normalised slug), so throttling reveals nothing.
      const account = `${tenant?.id ?? `unknown:${slug}`}:${emailKeyOf(request.email)}`;
      const gate = await deps.throttle.check({ account, ip: client.ip, action: "forgot" });
      if (!gate.allowed) return { throttled: true, retryAfterSeconds: gate.retryAfterSeconds };
      // Every request counts: forgot-password must not become a way to flood a mailbox.
      await deps.throttle.recordFailure({ account, ip: client.ip, action: "forgot" });
      const user = tenant ? await deps.userStore.findByEmail(db, tenant.id, request.email) : null;
      if (!tenant || !user || user.status !== "active" || !mayUseLocalLogin(tenant, user).allowed) return { throttled: false };

      const now = clock.now();
      const context: AuditContext = { actor: { type: "user", id: user.id }, ip: client.ip, requestId: client.requestId };
      // Done after the answer: waiting for it would make an existing account answer measurably slower.
      const work: Promise<void> = db.$transaction(async (tx) => {
        const token = await deps.tokenStore.issue(tx, user.id, "reset", now, RESET_TOKEN_TTL_MS);
        await deps.outbox.enqueue(tx, { ...passwordMail.reset({ to: user.email, tenantName: tenant.name, link: passwordLink(deps, tenant.region, "reset", token) }), kind: "password_reset", tenantId: tenant.id });
        await deps.auditStore.insert(tx, context, { type: "password.reset_requested", tenantId: tenant.id, target: { type: "user", id: user.id } });
      }).catch((error: unknown) => deps.logger.error({ err: { message: (error as Error).message }, userId: user.id }, "reset link could not be issued"));
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
      return { throttled: false };
    },

    /** A new local user without a password gets a set-password link (72 h), in the creating transaction. */
    async inviteInTransaction(tx: DbTx, user: UserRow, tenant: TenantRow): Promise<void> {
      // Local users only: members of a tenant that offers SSO sign in there unless they are on the bypass list.
      const local = user.kind !== "member" || !tenant.ssoEnabled || user.ssoBypass;
      if (user.status !== "active" || !local) return;
      const token = await deps.tokenStore.issue(tx, user.id, "invite", clock.now(), INVITE_TOKEN_TTL_MS);
      await deps.outbox.enqueue(tx, { ...passwordMail.invite({ to: user.email, tenantName: tenant.name, link: passwordLink(deps, tenant.region, "reset", token) }), kind: "invitation", tenantId: tenant.id });
    },

    /** Resolves once every reset link requested so far is issued (or has failed and been logged). */
    async whenIdle(): Promise<void> {
      await Promise.all([...inFlight]);
    },

    /** Whether a link still works, for showing the form; it is not used up here. */
    async isUsable(token: string): Promise<boolean> {
      return (await deps.tokenStore.findUsable(db, token, clock.now())) !== null;
    },

    /**
     * Sets the password from a reset or invitation link: checks the policy first (a refused password
     * leaves the link usable), then uses the token, sets the password, clears rotation flags, and
     * ends every session. It does not sign in: the next login still asks for MFA.
     */
    async setPasswordWithToken(token: string, newPassword: string, client: ResetClient): Promise<SetPasswordResult> {
      const now = clock.now();
      const row = await deps.tokenStore.findUsable(db, token, now);
      const user = row ? await db.user.findUnique({ where: { id: row.userId } }) : null;
      const tenant = user ? await deps.tenantStore.findById(db, user.tenantId) : null;
      if (!row || !user || !tenant || user.status !== "active") return { kind: "invalid_token" };

      const verdict = await deps.policy.check(newPassword, { email: user.email, tenantName: tenant.name, tenantSlug: tenant.slug, currentPasswordHash: user.passwordHash ?? undefined });
      if (!verdict.ok) return { kind: "refused", reasons: verdict.reasons };
      const hash = await deps.hasher.hash(verdict.normalised);
      const context: AuditContext = { actor: { type: "user", id: user.id }, ip: client.ip, requestId: client.requestId };

      const done = await db.$transaction(async (tx) => {
        if (!(await deps.tokenStore.consume(tx, row.id, now))) return false;
        await deps.userStore.setPasswordAfterRotation(tx, user.id, hash, now);
        await deps.auditStore.insert(tx, context, {
          type: "password.changed", tenantId: tenant.id, target: { type: "user", id: user.id },
          data: { by: row.purpose === "invite" ? "invitation" : "reset", ...(verdict.breachCheckUnavailable ? { breachCheckUnavailable: verdict.breachCheckUnavailable.error } : {}) },
        });
        await deps.outbox.enqueue(tx, { ...passwordMail.changed(user.email, tenant.name, "all_ended"), kind: "password_changed", tenantId: tenant.id });
        return true;
      });
      if (!done) return { kind: "invalid_token" };
      await deps.sessions.revokeUserSessions(user.id);
      return { kind: "done", region: tenant.region };
    },
  };
}

export type PasswordResetService = ReturnType<typeof createPasswordResetService>;
