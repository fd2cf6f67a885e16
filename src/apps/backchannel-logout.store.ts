import type { Db, DbTx } from "../platform/db/prisma";

/** One app to tell that one of its sessions (sid) of one user (sub) ended. */
export type LogoutNotice = { clientId: string; sub: string; sid: string };

/** A row as a claim hands it to the sender; `attempts` is this claim's number and fences the marks. */
export type ClaimedLogout = LogoutNotice & { id: string; attempts: number };

export type LogoutClaim = { lockMs: number; now: Date };

/** What an operator sees of one app's logouts: how many are owed, and the ones given up on, newest first. */
export type BackchannelSummary = {
  pending: number;
  failed: number;
  recentFailures: { id: string; userId: string; attempts: number; lastError: string | null; createdAt: string }[];
};

const RECENT_FAILURES = 20;

const LAST_ERROR_MAX = 500;

/**
 * The back-channel logouts owed to apps, in PostgreSQL so that neither a restart nor a second instance
 * loses one. Claims use SKIP LOCKED, so no row goes to two senders at once; a claimed row whose lock ran out
 * (its sender died mid-attempt) is due again.
 */
export function createBackchannelLogoutStore() {
  const lockUntil = ({ lockMs, now }: LogoutClaim) => new Date(now.getTime() + lockMs).toISOString();

  return {
    /** The notices, already claimed for an attempt at once by the caller. */
    async addClaimed(db: Db, notices: readonly LogoutNotice[], claim: LogoutClaim): Promise<ClaimedLogout[]> {
      if (notices.length === 0) return [];
      const column = <T>(pick: (notice: LogoutNotice) => T): T[] => notices.map(pick);
      return db.$queryRaw<ClaimedLogout[]>`
        INSERT INTO "backchannel_logouts" ("id", "client_id", "sub", "sid", "status", "attempts", "locked_until")
        SELECT gen_random_uuid(), n.client_id, n.sub, n.sid, 'sending', 1, ${lockUntil(claim)}::timestamptz
          FROM unnest(${column((n) => n.clientId)}::text[], ${column((n) => n.sub)}::text[], ${column((n) => n.sid)}::text[])
               AS n (client_id, sub, sid)
        RETURNING "id", "client_id" AS "clientId", "sub", "sid", "attempts"`;
    },

    /** Due rows for one sender, oldest first. */
    async claimDue(db: Db, limit: number, claim: LogoutClaim): Promise<ClaimedLogout[]> {
      const at = claim.now.toISOString();
      return db.$queryRaw<ClaimedLogout[]>`
        UPDATE "backchannel_logouts"
           SET "status" = 'sending', "attempts" = "attempts" + 1, "locked_until" = ${lockUntil(claim)}::timestamptz
         WHERE "id" IN (
                 SELECT "id" FROM "backchannel_logouts"
                  WHERE ("status" = 'pending' AND "next_attempt_at" <= ${at}::timestamptz)
                     OR ("status" = 'sending' AND "locked_until" <= ${at}::timestamptz)
                  ORDER BY "next_attempt_at"
                  LIMIT ${limit}
                  FOR UPDATE SKIP LOCKED)
        RETURNING "id", "client_id" AS "clientId", "sub", "sid", "attempts"`;
    },

    /** The app accepted a token: nothing more is owed, and the row goes. */
    async markDelivered(db: Db, claim: ClaimedLogout): Promise<boolean> {
      const { count } = await db.backchannelLogout.deleteMany({ where: ownClaim(claim) });
      return count === 1;
    },

    /** Back to pending, due again at `nextAttemptAt`. */
    async markRetry(db: Db, claim: ClaimedLogout, error: string, nextAttemptAt: Date): Promise<boolean> {
      const { count } = await db.backchannelLogout.updateMany({
        where: ownClaim(claim),
        data: { status: "pending", nextAttemptAt, lockedUntil: null, lastError: error.slice(0, LAST_ERROR_MAX) },
      });
      return count === 1;
    },

    /** Given up: the row stays, as `failed`, for an operator to see which app never heard. */
    async markFailed(db: Db, claim: ClaimedLogout, error: string): Promise<boolean> {
      const { count } = await db.backchannelLogout.updateMany({
        where: ownClaim(claim),
        data: { status: "failed", lockedUntil: null, lastError: error.slice(0, LAST_ERROR_MAX) },
      });
      return count === 1;
    },

    /** For the admin API: counts per state and the latest rows given up on. */
    async summarize(db: Db, clientId: string): Promise<BackchannelSummary> {
      const [groups, failures] = await Promise.all([
        db.backchannelLogout.groupBy({ by: ["status"], where: { clientId }, _count: { _all: true } }),
        db.backchannelLogout.findMany({ where: { clientId, status: "failed" }, orderBy: { createdAt: "desc" }, take: RECENT_FAILURES }),
      ]);
      const count = (status: string) => groups.find((g) => g.status === status)?._count._all ?? 0;
      return {
        // A row being tried right now is still owed.
        pending: count("pending") + count("sending"),
        failed: count("failed"),
        recentFailures: failures.map((row) => ({ id: row.id, userId: row.sub, attempts: row.attempts, lastError: row.lastError, createdAt: row.createdAt.toISOString() })),
      };
    },

    /** The failed rows of one app owed again from `now`, with a fresh series of retries (the app was fixed). */
    async requeueFailed(tx: Db | DbTx, clientId: string, now: Date): Promise<number> {
      const { count } = await tx.backchannelLogout.updateMany({
        where: { clientId, status: "failed" },
        data: { status: "pending", attempts: 0, nextAttemptAt: now, lockedUntil: null },
      });
      return count;
    },

    /** A deleted app is owed nothing. */
    async forgetClient(tx: Db | DbTx, clientId: string): Promise<void> {
      await tx.backchannelLogout.deleteMany({ where: { clientId } });
    },
  };
}

/** A mark applies only while the row is still this claim's: same attempt, still sending. */
function ownClaim(claim: ClaimedLogout) {
  return { id: claim.id, status: "sending", attempts: claim.attempts };
}

export type BackchannelLogoutStore = ReturnType<typeof createBackchannelLogoutStore>;
