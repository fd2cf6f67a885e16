import type { AuditContext } from "../audit/audit-event";
import type { PasswordDeps } from "./deps";
import type { CampaignRow, ClaimedUser, RotationCampaignStore } from "./rotation-campaign.store";
import { rotationNotice } from "./rotation.service";

type Deps = PasswordDeps & { campaigns: RotationCampaignStore; batchSize?: number; pollMs?: number };

/**
 * Runs rotation campaigns to the end. Each batch claims its users, flags them, queues their mail and
 * writes their audit events in one transaction, so a crash loses nothing and repeats nothing: the next
 * run (here or on another instance) continues with the users that have no progress row yet.
 */
export function createRotationWorker(deps: Deps) {
  const batchSize = deps.batchSize ?? 500;
  const pollMs = deps.pollMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  // Set by stop(): a run in progress ends after its current batch (which is committed or rolled back whole).
  let stopping = false;

  async function processBatch(campaign: CampaignRow): Promise<number> {
    const now = deps.clock.now();
    const context: AuditContext = { actor: { type: "system", id: `rotation:${campaign.id}` } };
    return deps.db.$transaction(async (tx) => {
      const claimed = await deps.campaigns.claimBatch(tx, campaign, batchSize);
      const flagged = claimed.filter((user) => user.outcome === "flagged");
      if (flagged.length > 0) {
        await deps.campaigns.flagUsers(tx, flagged.map((u) => u.userId), campaign.mode);
        await deps.auditStore.insertMany(tx, context, flagged.map((u) => ({
          type: "password.rotation_required" as const, tenantId: u.tenantId, target: { type: "user", id: u.userId }, data: { campaignId: campaign.id, mode: campaign.mode },
        })));
        if (campaign.notify) {
          await deps.outbox.enqueueMany(tx, flagged.map((u) => notice(campaign, u)));
          await deps.campaigns.markNotified(tx, campaign.id, flagged.map((u) => u.userId), now);
        }
      }
      return claimed.length;
    }, { timeout: 60_000 });
  }

  function notice(campaign: CampaignRow, user: ClaimedUser) {
    const mail = rotationNotice(deps, { name: user.tenantName, region: user.region }, user.email, campaign.mode);
    // The dedupe key makes "mailed at most once per campaign" hold even if a batch were ever replayed.
    return { ...mail, kind: "password_rotation", tenantId: user.tenantId, dedupeKey: `rotation:${campaign.id}:${user.userId}` };
  }

  async function revokePending(campaign: CampaignRow): Promise<void> {
    if (!campaign.revokeSessions) return;
    for (;;) {
      const pending = await deps.campaigns.pendingRevocations(deps.db, campaign.id, batchSize);
      if (pending.length === 0) return;
      for (const { userId } of pending) await deps.sessions.revokeUserSessions(userId);
      await deps.campaigns.markSessionsRevoked(deps.db, campaign.id, pending.map((p) => p.userId), deps.clock.now());
    }
  }

  async function finish(campaign: CampaignRow): Promise<void> {
    await deps.db.$transaction(async (tx) => {
      const { count } = await tx.rotationCampaign.updateMany({ where: { id: campaign.id, status: "running" }, data: { status: "completed", finishedAt: deps.clock.now() } });
      if (count === 0) return;
      const context: AuditContext = { actor: { type: "system", id: `rotation:${campaign.id}` } };
      const tenantIds = campaign.allTenants ? [null] : campaign.tenantIds;
      await deps.auditStore.insertMany(tx, context, tenantIds.map((tenantId) => ({ type: "rotation.completed" as const, tenantId, target: { type: "rotation_campaign", id: campaign.id } })));
    });
  }

  /** Processes every running campaign until none has work left (or the worker is stopped). */
  async function runOnce(): Promise<void> {
    const campaigns = await deps.db.rotationCampaign.findMany({ where: { status: "running" }, orderBy: { createdAt: "asc" } });
    for (const campaign of campaigns) {
      for (;;) {
        if (stopping) return;
        const current = await deps.db.rotationCampaign.findUnique({ where: { id: campaign.id }, select: { status: true } });
        if (current?.status !== "running") break;
        const claimed = await processBatch(campaign);
        await revokePending(campaign);
        if (claimed === 0) {
          if (await deps.campaigns.hasUnprocessed(deps.db, campaign)) {
            // Another instance holds the rest in an uncommitted batch: wait for it, then look again.
            await new Promise((resolve) => setTimeout(resolve, 200));
            continue;
          }
          await finish(campaign);
          break;
        }
      }
    }
  }

  function schedule(delay: number): void {
    if (stopped) return;
    timer = setTimeout(tick, delay);
    timer.unref();
  }

  function tick(): void {
    timer = undefined;
    running = runOnce()
      .catch((error: unknown) => deps.logger.error({ err: { message: (error as Error).message } }, "rotation worker batch failed"))
      .finally(() => {
        running = undefined;
        schedule(pollMs);
      });
  }

  return {
    runOnce,
    start(): void {
      stopped = false;
      stopping = false;
      schedule(0);
    },
    /** Starts a run now instead of at the next poll (a campaign was just created). */
    wake(): void {
      if (stopped || running) return;
      if (timer) clearTimeout(timer);
      tick();
    },
    async stop(): Promise<void> {
      stopped = true;
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}

export type RotationWorker = ReturnType<typeof createRotationWorker>;
