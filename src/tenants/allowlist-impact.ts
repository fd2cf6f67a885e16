import type { AuditStore } from "../audit/audit.store";
import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import type { SessionService } from "../sessions/session.service";
import type { UserStore } from "../users/user.store";
import { isIpAllowed } from "./ip-allowlist";
import type { TenantUpdateInput } from "./tenant.schemas";
import type { TenantRow } from "./tenant.store";
import { toTenantView, type TenantView } from "./tenant.view";

type Deps = { db: Db; clock: Clock; userStore: UserStore; auditStore: AuditStore; sessions: Pick<SessionService, "listUserSessions"> };

/** One (user, address) pair the new allowlist would refuse, with the last time it was seen. */
export type BlockedAccess = { userId: string; email: string; ip: string; lastSeenAt: string };
export type TenantUpdatePreview = { dryRun: true; tenant: TenantView; blocked: BlockedAccess[] };

const LOOKBACK_MS = 30 * 24 * 60 * 60 * 1000;
const PAGE = 500;
const SESSION_BATCH = 50;

/**
 * Answers "who would this allowlist lock out?" before it is saved: the addresses of the tenant's
 * live sessions and of its successful logins in the last 30 days, checked against the new ranges.
 * Reads only; nothing about the tenant changes.
 */
export function createAllowlistImpact(deps: Deps) {
  return {
    async previewTenantUpdate(tenant: TenantRow, input: TenantUpdateInput): Promise<TenantUpdatePreview> {
      const after: TenantRow = { ...tenant, ...definedOnly(input) };
      return { dryRun: true, tenant: toTenantView(after), blocked: await findBlocked(deps, tenant.id, after.ipAllowlist) };
    },
  };
}

async function findBlocked(deps: Deps, tenantId: string, allowlist: readonly string[]): Promise<BlockedAccess[]> {
  // An empty allowlist allows everyone.
  if (allowlist.length === 0) return [];
  const emails = await activeUserEmails(deps, tenantId);
  const seen = new Map<string, { userId: string; ip: string; at: number }>();
  const record = (userId: string, ip: string | null, at: number) => {
    // Deactivated or deleted users cannot log in anyway; an unknown address cannot be judged.
    if (!ip || !emails.has(userId) || isIpAllowed(allowlist, ip)) return;
    const key = `${userId} ${ip}`;
    const previous = seen.get(key);
    if (!previous || previous.at < at) seen.set(key, { userId, ip, at });
  };

  const userIds = [...emails.keys()];
  for (let i = 0; i < userIds.length; i += SESSION_BATCH) {
    const batch = userIds.slice(i, i + SESSION_BATCH);
    const sessions = await Promise.all(batch.map((id) => deps.sessions.listUserSessions(id)));
    for (const session of sessions.flat()) record(session.userId, session.ip, session.lastSeenAt);
  }
  for await (const login of recentLogins(deps, tenantId)) {
    if (login.targetType === "user" && login.targetId) record(login.targetId, login.ip, login.createdAt.getTime());
  }

  return [...seen.values()]
    .sort((a, b) => b.at - a.at || a.ip.localeCompare(b.ip))
    .map((entry) => ({ userId: entry.userId, email: emails.get(entry.userId)!, ip: entry.ip, lastSeenAt: new Date(entry.at).toISOString() }));
}

async function activeUserEmails(deps: Deps, tenantId: string): Promise<Map<string, string>> {
  const emails = new Map<string, string>();
  let afterId: string | undefined;
  for (;;) {
    const rows = await deps.userStore.list(deps.db, { tenantId, status: "active", afterId, limit: PAGE });
    for (const row of rows) emails.set(row.id, row.email);
    if (rows.length < PAGE) return emails;
    afterId = rows[rows.length - 1]!.id;
  }
}

async function* recentLogins(deps: Deps, tenantId: string) {
  const since = new Date(deps.clock.now().getTime() - LOOKBACK_MS);
  let beforeId: bigint | undefined;
  for (;;) {
    const rows = await deps.auditStore.listNewestFirst(deps.db, { tenantId, types: ["login.succeeded"], since, beforeId, limit: PAGE });
    yield* rows;
    if (rows.length < PAGE) return;
    beforeId = rows[rows.length - 1]!.id;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type AllowlistImpact = ReturnType<typeof createAllowlistImpact>;
