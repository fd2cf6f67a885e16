import type { Prisma } from "../generated/prisma/client";
import { sql, type Sql } from "../generated/prisma/internal/prismaNamespace";
import type { UserKind } from "../generated/prisma/enums";
import type { Db, DbTx } from "../platform/db/prisma";
import type { RotationOutcome } from "./rotation.service";

export type CampaignRow = NonNullable<Awaited<ReturnType<Db["rotationCampaign"]["findUnique"]>>>;
export type ClaimedUser = { userId: string; tenantId: string; email: string; outcome: RotationOutcome; tenantName: string; region: string };

/**
 * Per-user progress of a campaign. A user is claimed by inserting its row: the primary key makes
 * each user processed once, even with several workers on several instances.
 */
export function createRotationCampaignStore() {
  return {
    countTargets(db: Db | DbTx, campaign: { allTenants: boolean; tenantIds: string[]; kinds: UserKind[]; createdAt: Date }): Promise<number> {
      return db.user.count({ where: targetFilter(campaign) });
    },

    /** Claims the next batch of unprocessed users and records each one's outcome, in the caller's transaction. */
    async claimBatch(tx: DbTx, campaign: CampaignRow, limit: number): Promise<ClaimedUser[]> {
      return tx.$queryRaw<ClaimedUser[]>`
        WITH candidates AS (
          SELECT u.id, u.tenant_id, u.email, t.name AS tenant_name, t.region,
            CASE
              WHEN u.status <> 'active' THEN 'skipped_deactivated'
              WHEN u.password_hash IS NULL THEN 'skipped_sso_only'
              WHEN u.kind = 'member' AND t.sso_enforced AND NOT u.sso_bypass THEN 'skipped_sso_only'
              ELSE 'flagged'
            END AS outcome
          FROM users u JOIN tenants t ON t.id = u.tenant_id
          WHERE ${unprocessedTargets(campaign)}
          ORDER BY u.id
          LIMIT ${limit}
        ), claimed AS (
          INSERT INTO rotation_campaign_users (campaign_id, user_id, tenant_id, outcome)
          SELECT ${campaign.id}::uuid, id, tenant_id, outcome FROM candidates
          ON CONFLICT DO NOTHING
          RETURNING user_id
        )
        SELECT c.id AS "userId", c.tenant_id AS "tenantId", c.email, c.outcome, c.tenant_name AS "tenantName", c.region
        FROM candidates c JOIN claimed ON claimed.user_id = c.id`;
    },

    /**
     * Whether any target still lacks a committed progress row. An empty claim alone does not say the
     * campaign is done: another instance may hold those users in a batch it has not committed yet.
     */
    async hasUnprocessed(db: Db, campaign: CampaignRow): Promise<boolean> {
      const rows = await db.$queryRaw<Array<{ found: number }>>`
        SELECT 1 AS found FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE ${unprocessedTargets(campaign)} LIMIT 1`;
      return rows.length > 0;
    },

    flagUsers: (tx: DbTx, userIds: string[], mode: CampaignRow["mode"]) =>
      tx.user.updateMany({ where: { id: { in: userIds } }, data: { passwordRotation: mode } }),

    markNotified: (tx: DbTx, campaignId: string, userIds: string[], at: Date) =>
      tx.rotationCampaignUser.updateMany({ where: { campaignId, userId: { in: userIds } }, data: { notifiedAt: at } }),

    /** Flagged users whose sessions are still to be ended (also after a crash between commit and Redis). */
    pendingRevocations: (db: Db, campaignId: string, limit: number) =>
      db.rotationCampaignUser.findMany({ where: { campaignId, outcome: "flagged", sessionsRevokedAt: null }, select: { userId: true }, take: limit }),

    markSessionsRevoked: (db: Db, campaignId: string, userIds: string[], at: Date) =>
      db.rotationCampaignUser.updateMany({ where: { campaignId, userId: { in: userIds } }, data: { sessionsRevokedAt: at } }),

    async progress(db: Db, campaignId: string) {
      const rows = await db.$queryRaw<Array<{ outcome: string; total: bigint; notified: bigint; completed: bigint }>>`
        SELECT outcome, count(*) AS total, count(notified_at) AS notified, count(completed_at) AS completed
        FROM rotation_campaign_users WHERE campaign_id = ${campaignId}::uuid GROUP BY outcome`;
      const of = (outcome: string) => rows.find((r) => r.outcome === outcome);
      return {
        flagged: Number(of("flagged")?.total ?? 0),
        notified: rows.reduce((sum, r) => sum + Number(r.notified), 0),
        completed: rows.reduce((sum, r) => sum + Number(r.completed), 0),
        skippedDeactivated: Number(of("skipped_deactivated")?.total ?? 0),
        skippedSsoOnly: Number(of("skipped_sso_only")?.total ?? 0),
      };
    },
  };
}

function unprocessedTargets(campaign: CampaignRow): Sql {
  const kinds = campaign.kinds.map(String);
  return sql`(${campaign.allTenants} OR u.tenant_id = ANY(${campaign.tenantIds}::uuid[]))
    AND (cardinality(${kinds}::text[]) = 0 OR u.kind::text = ANY(${kinds}::text[]))
    AND u.created_at <= ${campaign.createdAt}
    AND NOT EXISTS (SELECT 1 FROM rotation_campaign_users r WHERE r.campaign_id = ${campaign.id}::uuid AND r.user_id = u.id)`;
}

function targetFilter(campaign: { allTenants: boolean; tenantIds: string[]; kinds: UserKind[]; createdAt: Date }): Prisma.UserWhereInput {
  return {
    ...(campaign.allTenants ? {} : { tenantId: { in: campaign.tenantIds } }),
    ...(campaign.kinds.length > 0 ? { kind: { in: campaign.kinds } } : {}),
    createdAt: { lte: campaign.createdAt },
  };
}

export type RotationCampaignStore = ReturnType<typeof createRotationCampaignStore>;
