import type { Db } from "../platform/db/prisma";

const WINDOW_HOURS = 24;

/** Refusals of one kind in the last `windowHours` hours, by reason code. */
export type FailureCounts = { windowHours: number; total: number; byReason: Record<string, number> };

/**
 * How a connection is doing: the last successful login, the last day's refused logins, and the last
 * day's refused single-logout messages (SAML), each by reason.
 */
export type ConnectionHealth = {
  lastLoginAt: string | null;
  failures: FailureCounts;
  logoutFailures: FailureCounts;
};

// Which audit event feeds which count: a refused logout is not a failed login, and is shown apart.
const COUNTED = { "sso.login.failed": "failures", "sso.logout.failed": "logoutFailures" } as const;
const COUNTED_TYPES = Object.keys(COUNTED);

/**
 * Health for some of a tenant's connections, in one query over the audit trail: refused SSO logins and
 * refused logout messages are audited (`sso.login.failed`, `sso.logout.failed`) with the connection and a
 * reason code, so no second record is kept. The window is measured by the database clock, the one that
 * stamps audit rows.
 */
export async function healthOf(db: Db, tenantId: string, rows: readonly { id: string; lastLoginAt: Date | null }[]): Promise<Map<string, ConnectionHealth>> {
  const ids = rows.map((row) => row.id);
  const counts = ids.length === 0 ? [] : await db.$queryRaw<{ type: keyof typeof COUNTED; connection_id: string; reason: string | null; n: bigint }[]>`
    SELECT type, data->>'connectionId' AS connection_id, data->>'reason' AS reason, count(*) AS n
    FROM audit_events
    WHERE tenant_id = ${tenantId}::uuid AND type = ANY(${COUNTED_TYPES}::text[]) AND created_at >= now() - make_interval(hours => ${WINDOW_HOURS})
      AND data->>'connectionId' = ANY(${ids}::text[])
    GROUP BY 1, 2, 3`;
  const health = new Map<string, ConnectionHealth>();
  const none = (): FailureCounts => ({ windowHours: WINDOW_HOURS, total: 0, byReason: {} });
  for (const row of rows) {
    health.set(row.id, { lastLoginAt: row.lastLoginAt?.toISOString() ?? null, failures: none(), logoutFailures: none() });
  }
  for (const count of counts) {
    const entry = health.get(count.connection_id);
    if (!entry) continue;
    const counted = entry[COUNTED[count.type]];
    const n = Number(count.n);
    counted.total += n;
    const reason = count.reason ?? "unknown";
    counted.byReason[reason] = (counted.byReason[reason] ?? 0) + n;
  }
  return health;
}
