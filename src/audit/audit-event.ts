import type { Actor } from "../platform/http/request-context";

/** Every event type the service writes. Dotted, past tense; the audit API filters on these names. */
export const AUDIT_EVENT_TYPES = [
  "login.succeeded", "login.failed", "login.bypass", "login.throttled",
  "mfa.enrolled", "mfa.failed", "mfa.reset", "mfa.recovery_codes_regenerated", "mfa.replaced",
  "session.revoked",
  "password.reset_requested", "password.changed", "password.rotation_required",
  "rotation.started", "rotation.completed",
  "sso.policy.updated", "sso.connection.created", "sso.connection.updated",
  "sso.login.succeeded", "sso.login.failed", "sso.logout.failed", "sso.certificate.expiring",
  "tenant.created", "tenant.updated",
  "user.created", "user.updated", "user.deactivated", "user.reactivated",
  "api_key.created", "api_key.revoked",
  "application.created", "application.updated", "application.deleted", "application.backchannel_logouts_requeued",
  "signing_key.rotated", "signing_key.staged", "signing_key.activated", "signing_key.retired",
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export type AuditContext = { actor: Actor; ip?: string; requestId?: string };

export type AuditEventInput = {
  type: AuditEventType;
  tenantId?: string | null;
  target?: { type: string; id: string };
  /** before/after for changes, or facts about the decision; never secrets. */
  data?: Record<string, unknown>;
};

export type AuditEventView = {
  id: string;
  type: string;
  tenantId: string | null;
  actor: { type: string; id: string | null };
  ip: string | null;
  requestId: string | null;
  target: { type: string; id: string } | null;
  data: unknown;
  createdAt: string;
};
