import type { AuditContext } from "../audit/audit-event";
import type { DbTx } from "../platform/db/prisma";
import { createPollLoop } from "../platform/poll-loop";
import type { PasswordDeps } from "./deps";
import type { CampaignRow, ClaimedUser, RotationCampaignStore } from "./rotation-campaign.store";
import { rotationNotice } from "./rotation.service";

/** pollMs: the wait between looks after one that found a campaign, and the shortest otherwise; maxIdleMs: the longest (16 × pollMs by default). */
type Deps = PasswordDeps & { campaigns: RotationCampaignStore; batchSize?: number; pollMs?: number; maxIdleMs?: number };

/** What one batch transaction found: users flagged (sessions still to end), no users left, or the campaign no longer running. */
type BatchResult = { state: "processed"; flagged: string[] } | { state: "exhausted" } | { state: "stopped" };

/**
 * Runs rotation campaigns to the end. Each batch takes the campaign's cursor, records its users'
 * outcomes, flags them, queues their mail, writes their audit events and moves the cursor, in one
 * transaction: a crash loses nothing and repeats nothing, and the next run (here or on another
 * instance) continues after the last committed batch. Sessions are ended after the commit (Redis is
 * not part of the transaction); the progress rows say whose are still to end.
 */
export function createRotationWorker(deps: Deps) {
  const batchSize = deps.batchSize ?? 500;
  const pollMs = deps.pollMs ?? 2000;
  // Set by stop(): a run in progress ends after its current batch (which is committed or rolled back whole).
  let stopping = false;

  const systemContext = (campaign: CampaignRow): AuditContext => ({ actor: { type: "system", id: `rotation:${campaign.id}` } });

  async function processBatch(campaign: CampaignRow): Promise<BatchResult> {
    return deps.db.$transaction(async (tx) => {
      const cursor = await deps.campaigns.lockCursor(tx, campaign.id);
      if (cursor?.status !== "running") return { state: "stopped" };
      const notifiedAt = campaign.notify ? deps.clock.now() : null;
      const batch = await deps.campaigns.claimBatch(tx, campaign, cursor.lastUserId, batchSize, notifiedAt);
      if (batch.lastUserId === null) return { state: "exhausted" };
      const flagged = batch.users.filter((user) => user.outcome === "flagged");
      if (flagged.length > 0) await flagAndNotify(tx, campaign, flagged);
      await deps.campaigns.advanceCursor(tx, campaign.id, batch.lastUserId);
      return { state: "processed", flagged: flagged.map((user) => user.userId) };
    }, { timeout: 60_000 });
  }

  async function flagAndNotify(tx: DbTx, campaign: CampaignRow, flagged: ClaimedUser[]): Promise<void> {
    await deps.campaigns.flagUsers(tx, flagged.map((u) => u.userId), campaign.mode);
    await deps.campaigns.auditFlagged(tx, systemContext(campaign), campaign, flagged);
    if (campaign.notify) await deps.outbox.enqueueMany(tx, flagged.map((u) => notice(campaign, u)));
  }

  function notice(campaign: CampaignRow, user: ClaimedUser) {
    const mail = rotationNotice(deps, { name: user.tenantName, region: user.region }, user.email, campaign.mode);
    // The dedupe key makes "mailed at most once per campaign" hold even if a batch were ever replayed.
    return { ...mail, kind: "password_rotation", tenantId: user.tenantId, dedupeKey: `rotation:${campaign.id}:${user.userId}` };
  }

  /** Ends the sessions of these users (one Redis pipeline per batch) and records that it was done. */
  async function revokeSessions(campaign: CampaignRow, userIds: string[]): Promise<void> {
    if (!campaign.revokeSessions || userIds.length === 0) return;
    await deps.sessions.revokeSessionsForUsers(userIds);
    await deps.campaigns.markSessionsRevoked(deps.db, campaign.id, userIds, deps.clock.now());
  }

  /** Catches up on sessions a crash left alive: flagged users committed without their revocation. */
  async function revokeLeftovers(campaign: CampaignRow): Promise<void> {
    if (!campaign.revokeSessions) return;
    for (let after: string | null = null; ;) {
      const pending = await deps.campaigns.pendingRevocations(deps.db, campaign.id, after, batchSize);
      if (pending.length === 0) return;
      await revokeSessions(campaign, pending);
      after = pending[pending.length - 1] ?? null;
    }
  }

  async function finish(campaign: CampaignRow): Promise<void> {
    await deps.db.$transaction(async (tx) => {
      const { count } = await tx.rotationCampaign.updateMany({ where: { id: campaign.id, status: "running" }, data: { status: "completed", finishedAt: deps.clock.now() } });
      if (count === 0) return;
      const tenantIds = campaign.allTenants ? [null] : campaign.tenantIds;
      await deps.auditStore.insertMany(tx, systemContext(campaign), tenantIds.map((tenantId) => ({ type: "rotation.completed" as const, tenantId, target: { type: "rotation_campaign", id: campaign.id } })));
    });
  }

  /** Batches until the campaign has no users left, is cancelled, or the worker stops. */
  async function runCampaign(campaign: CampaignRow): Promise<void> {
    await revokeLeftovers(campaign);
    for (;;) {
      if (stopping) return;
      const result = await processBatch(campaign);
      if (result.state === "stopped") return;
      if (result.state === "exhausted") {
        // Every batch is committed (the cursor was read under the lock); a crashed one may still owe sessions.
        await revokeLeftovers(campaign);
        return finish(campaign);
      }
      await revokeSessions(campaign, result.flagged);
    }
  }

  /** Processes every running campaign until none has work left (or the worker is stopped); returns how many it found. */
  async function runOnce(): Promise<number> {
    const campaigns = await deps.campaigns.listRunning(deps.db);
    for (const campaign of campaigns) {
      if (stopping) break;
      await runCampaign(campaign);
    }
    return campaigns.length;
  }

  const loop = createPollLoop({
    pollMs,
    maxIdleMs: deps.maxIdleMs,
    look: () => runOnce().then(
      (found) => ({ found: found > 0 }),
      (error: unknown) => {
        deps.logger.error({ err: { message: (error as Error).message } }, "rotation worker batch failed");
        return { found: false };
      },
    ),
  });

  return {
    runOnce,
    /** Looks for running campaigns at once, then after each wait (see createPollLoop). */
    start(): void {
      stopping = false;
      loop.start();
    },
    /** Starts a run now instead of after the wait (a campaign was just created and committed). */
    wake(): void {
      loop.wake(0);
    },
    async stop(): Promise<void> {
      stopping = true;
      await loop.stop();
    },
  };
}

export type RotationWorker = ReturnType<typeof createRotationWorker>;
