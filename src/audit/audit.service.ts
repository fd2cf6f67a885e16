import type { Db } from "../platform/db/prisma";
import { decodeCursor, toPage, type Page } from "../platform/pagination";
import type { AuditEventView } from "./audit-event";
import type { AuditStore } from "./audit.store";

export type AuditListQuery = { tenantId: string; types?: string[]; since?: Date; until?: Date; cursor?: string; limit: number };

export function createAuditService(deps: { db: Db; auditStore: AuditStore }) {
  return {
    async listTenantEvents(query: AuditListQuery): Promise<Page<AuditEventView>> {
      const before = decodeCursor(query.cursor, /^\d{1,19}$/);
      const rows = await deps.auditStore.listNewestFirst(deps.db, {
        tenantId: query.tenantId,
        types: query.types,
        since: query.since,
        until: query.until,
        beforeId: before === undefined ? undefined : BigInt(before),
        limit: query.limit + 1,
      });
      return toPage(rows, query.limit, toView, (row) => row.id.toString());
    },
  };
}

type AuditRow = Awaited<ReturnType<AuditStore["listNewestFirst"]>>[number];

function toView(row: AuditRow): AuditEventView {
  return {
    id: row.id.toString(),
    type: row.type,
    tenantId: row.tenantId,
    actor: { type: row.actorType, id: row.actorId },
    ip: row.ip,
    requestId: row.requestId,
    target: row.targetType && row.targetId ? { type: row.targetType, id: row.targetId } : null,
    data: row.data,
    createdAt: row.createdAt.toISOString(),
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
