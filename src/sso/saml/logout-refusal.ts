import type { AuditContext } from "../../audit/audit-event";
import type { AuditStore } from "../../audit/audit.store";
import type { Db } from "../../platform/db/prisma";
import type { Logger } from "../../platform/logger";
import type { SloKind } from "./slo-message";

export type LogoutRefusal = {
  tenantId: string;
  /** The connection the message claimed to come from, or the tenant's first when it named none of them. */
  connectionId: string;
  reason: string;
  /** What arrived, when the binding could be read that far. */
  message?: SloKind;
  binding: "redirect" | "post";
};

/**
 * Audits a refused logout message as `sso.logout.failed`, which the connection's health counts. Only the
 * facts of the decision: never the message, its signature or its NameID (forged ones are attacker text).
 * Never throws: the refusal itself must still be answered.
 */
export async function recordLogoutRefusal(deps: { db: Db; auditStore: AuditStore; logger: Logger }, context: AuditContext, refusal: LogoutRefusal): Promise<void> {
  try {
    await deps.auditStore.insert(deps.db, context, {
      type: "sso.logout.failed",
      tenantId: refusal.tenantId,
      target: { type: "sso_connection", id: refusal.connectionId },
      data: { connectionId: refusal.connectionId, protocol: "saml", reason: refusal.reason, message: refusal.message ?? null, binding: refusal.binding },
    });
  } catch (error) {
    deps.logger.warn({ err: error, connectionId: refusal.connectionId }, "could not record a refused SAML logout message");
  }
}
