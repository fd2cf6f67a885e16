import type { Db, DbTx } from "../platform/db/prisma";
import type { AuditContext, AuditEventInput } from "./audit-event";

export type AuditQuery = { tenantId: string; types?: string[]; since?: Date; until?: Date; beforeId?: bigint; limit: number };

export function createAuditStore() {
  return {
    /** Called inside the transaction of the change it records. */
    async insert(tx: Db | DbTx, context: AuditContext, event: AuditEventInput): Promise<void> {
      await tx.auditEvent.create({
        data: {
          type: event.type,
          tenantId: event.tenantId ?? null,
          actorType: context.actor.type,
          actorId: context.actor.id ?? null,
          ip: context.ip ?? null,
          requestId: context.requestId ?? null,
          targetType: event.target?.type ?? null,
          targetId: event.target?.id ?? null,
          data: (event.data ?? {}) as object,
        },
      });
    },

    async listNewestFirst(db: Db, query: AuditQuery) {
      return db.auditEvent.findMany({
        where: {
          tenantId: query.tenantId,
          ...(query.types ? { type: { in: query.types } } : {}),
          ...(query.since || query.until ? { createdAt: { gte: query.since, lt: query.until } } : {}),
          ...(query.beforeId !== undefined ? { id: { lt: query.beforeId } } : {}),
        },
        orderBy: { id: "desc" },
        take: query.limit,
      });
    },
  };
}

export type AuditStore = ReturnType<typeof createAuditStore>;
