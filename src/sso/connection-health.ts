import type { Db } from "../platform/db/prisma";

const WINDOW_HOURS = 24;

/** How logins through a connection are going: the last success and the last day's failures by reason. */
export type ConnectionHealth = {
  lastLoginAt: string | null;
  failures: { windowHours: number; total: number; byReason: Record<string, number> };
};

/**
 * Health for some of a tenant's connections, in one query over the audit trail: refused SSO logins are
 * audited as `sso.login.failed` with the connection and a reason code, so no second record is kept.
 * The window is measured by the database clock, the one that stamps audit rows.
 */
export async function healthOf(db: Db, tenantId: string, rows: readonly { id: string; lastLoginAt: Date | null }[]): Promise<Map<string, ConnectionHealth>> {
  const ids = rows.map((row) => row.id);
  const counts = ids.length === 0 ? [] : await db.$queryRaw<{ connection_id: string; reason: string | null; n: bigint }[]>`
    SELECT data->>'connectionId' AS connection_id, data->>'reason' AS reason, count(*) AS n
    FROM audit_events
    WHERE tenant_id = ${tenantId}::uuid AND type = 'sso.login.failed' AND created_at >= now() - make_interval(hours => ${WINDOW_HOURS})
      AND data->>'connectionId' = ANY(${ids}::text[])
    GROUP BY 1, 2`;
  const health = new Map<string, ConnectionHealth>();
  for (const row of rows) {
    health.set(row.id, { lastLoginAt: row.lastLoginAt?.toISOString() ?? null, failures: { windowHours: WINDOW_HOURS, total: 0, byReason: {} } });
  }
  for (const count of counts) {
    const entry = health.get(count.connection_id);
    if (!entry) continue;
    const n = Number(count.n);
    entry.failures.total += n;
    const reason = count.reason ?? "unknown";
    entry.failures.byReason[reason] = (entry.failures.byReason[reason] ?? 0) + n;
  }
  return health;
}
