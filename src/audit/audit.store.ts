import type { Db, DbTx, DbWrite } from "../platform/db/prisma";
import type { AuditContext, AuditEventInput } from "./audit-event";

export type AuditQuery = { tenantId: string; types?: string[]; since?: Date; until?: Date; beforeId?: bigint; limit: number };

/** One statement for many events of one actor (campaign batches); called inside the change's transaction. */
async function insertMany(tx: Db | DbTx, context: AuditContext, events: AuditEventInput[]): Promise<void> {
  if (events.length === 0) return;
  await createManyStatement(tx, context, events);
}

function createManyStatement(db: Db | DbTx, context: AuditContext, events: AuditEventInput[]): DbWrite {
  return db.auditEvent.createMany({
    data: events.map((event) => ({
      type: event.type,
      tenantId: event.tenantId ?? null,
      actorType: context.actor.type,
      actorId: context.actor.id ?? null,
      ip: context.ip ?? null,
      requestId: context.requestId ?? null,
      targetType: event.target?.type ?? null,
      targetId: event.target?.id ?? null,
      data: (event.data ?? {}) as object,
    })),
  });
}

export function createAuditStore() {
  return {
    /** Called inside the transaction of the change it records. */
    insert: (tx: Db | DbTx, context: AuditContext, event: AuditEventInput): Promise<void> => insertMany(tx, context, [event]),
    /** The insert as a statement not yet run, to batch with the change it records (`db.$transaction([...])`). */
    insertStatement: (db: Db, context: AuditContext, event: AuditEventInput): DbWrite => createManyStatement(db, context, [event]),
    insertMany,

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
