import type { Clock } from "../clock";
import { AppError } from "../errors";
import type { Db } from "../db/prisma";
import type { Logger } from "../logger";
import { createPollLoop, type LookResult } from "../poll-loop";
import type { Mailer } from "./mailer";
import type { ClaimedMail, OutboxStore } from "./outbox.store";

// Delivery guarantee. A row is marked sent right after the SMTP server accepts the message, under a
// claim fenced by its attempt number, so each mail normally goes out exactly once. Two windows remain
// where it can go out twice: the process dies (or the database is unreachable) between the SMTP accept
// and the mark, or a send outlives its timeout and still succeeds; the row then becomes due again and
// is resent. Nothing in that window is ever lost. SMTP offers no idempotency key to close it.
//
// Two kinds of failure, two backoffs. A mail the server refuses waits its own exponential delay
// (`backoff`). A server that cannot be reached or will not talk at all fails every mail alike: the
// rest of the batch is failed with it untried, and the whole sender pauses (`outagePause`, growing
// with each outage in a row) instead of claiming and failing fresh mail as fast as it can.

export type Backoff = (attempt: number) => number;

export type OutboxSenderDeps = {
  db: Db;
  store: OutboxStore;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  batchSize?: number;
  /** The wait between looks while there is mail, and the shortest while there is none. */
  pollMs?: number;
  /** The longest wait between looks while there is no mail (16 × pollMs by default). */
  maxIdleMs?: number;
  /** Attempts before a mail is marked `failed` for good. */
  maxAttempts?: number;
  /** Delay before attempt n + 1 after attempt n failed. */
  backoff?: Backoff;
  /** One send may take this long before it counts as failed. */
  sendTimeoutMs?: number;
  /** How long a claim holds its rows; must cover a whole batch of timed-out sends. */
  lockMs?: number;
  /** Pause of the whole sender after the n-th drain in a row that found the mail server unavailable. */
  outagePause?: Backoff;
};

export type DrainResult = { sent: number; failed: number };

export type OutboxSender = {
  /** Looks for due mail at once, then after each wait (see createPollLoop). */
  start(): void;
  /** Stops polling and waits for the batch in flight. */
  stop(): Promise<void>;
  /** Claims one batch and tries each mail once; does nothing while paused. */
  drainOnce(): Promise<DrainResult>;
  /** Until when the sender holds off after finding the mail server unavailable; null when not paused. */
  pausedUntil(): Date | null;
};

type Attempt = { ok: true } | { ok: false; reason: string; serverUnavailable: boolean };

/** Exponential from `baseMs`, capped at `maxMs`, with "equal jitter" so retries of many mails spread out. */
export function exponentialBackoff({ baseMs = 5_000, maxMs = 15 * 60_000, random = Math.random } = {}): Backoff {
  return (attempt) => {
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };
}

export function createOutboxSender(deps: OutboxSenderDeps): OutboxSender {
  const { db, store, mailer, clock, logger } = deps;
  const batchSize = deps.batchSize ?? 20;
  const pollMs = deps.pollMs ?? 1_000;
  const maxAttempts = deps.maxAttempts ?? 10;
  const backoff = deps.backoff ?? exponentialBackoff();
  const sendTimeoutMs = deps.sendTimeoutMs ?? 60_000;
  const lockMs = deps.lockMs ?? batchSize * sendTimeoutMs + 60_000;
  // A lock that runs out mid-batch hands unsent rows to another sender while this one still holds them.
  if (lockMs <= batchSize * sendTimeoutMs) {
    throw new Error(`outbox sender: lockMs (${lockMs}) must exceed batchSize × sendTimeoutMs (${batchSize * sendTimeoutMs})`);
  }

  const outagePause = deps.outagePause ?? exponentialBackoff({ baseMs: 1_000, maxMs: 60_000 });
  let outagesInARow = 0;
  let pausedUntilMs = 0;

  const logFields = (mail: ClaimedMail) => ({ mailId: mail.id, kind: mail.kind, tenantId: mail.tenantId, attempt: mail.attempts });

  async function attempt(mail: ClaimedMail): Promise<Attempt> {
    try {
      const message = { to: mail.to, subject: mail.subject, text: mail.text, ...(mail.html ? { html: mail.html } : {}) };
      await withTimeout(mailer.send(message), sendTimeoutMs);
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: describe(error), serverUnavailable: isServerUnavailable(error) };
    }
  }

  /** Back to pending after its backoff, or failed for good after the last attempt. */
  async function recordFailure(mail: ClaimedMail, reason: string): Promise<void> {
    const log = { ...logFields(mail), err: reason };
    if (mail.attempts >= maxAttempts) {
      await store.markDead(db, mail, reason);
      logger.error(log, "outbox: mail failed for good");
      return;
    }
    const nextAttemptAt = new Date(clock.now().getTime() + backoff(mail.attempts));
    await store.markFailed(db, mail, reason, nextAttemptAt);
    logger.warn({ ...log, nextAttemptAt }, "outbox: send failed, will retry");
  }

  async function recordSent(mail: ClaimedMail): Promise<void> {
    if (!(await store.markSent(db, mail, clock.now()))) {
      logger.warn(logFields(mail), "outbox: sent after losing the claim; another sender may send it again");
    }
    logger.info(logFields(mail), "outbox: mail sent");
  }

  function pause(reason: string): void {
    outagesInARow += 1;
    const pauseMs = outagePause(outagesInARow);
    pausedUntilMs = clock.now().getTime() + pauseMs;
    logger.warn({ err: reason, outagesInARow, pauseMs }, "outbox: mail server unavailable, sender paused");
  }

  /** Tries each mail of the batch in turn; stops trying at the first sign that the server is down. */
  async function deliverBatch(batch: ClaimedMail[]): Promise<DrainResult> {
    const result: DrainResult = { sent: 0, failed: 0 };
    // One at a time: the lock was sized for a sequential batch, and SMTP servers throttle bursts.
    for (const [index, mail] of batch.entries()) {
      if (mail.attempts > maxAttempts) {
        // Only reachable through claims whose sender died; do not let such a row cycle forever.
        await store.markDead(db, mail, "gave up: claimed too often without a result");
        logger.error(logFields(mail), "outbox: mail given up after repeated interrupted attempts");
        result.failed += 1;
        continue;
      }
      const outcome = await attempt(mail);
      if (outcome.ok) {
        await recordSent(mail);
        outagesInARow = 0;
        result.sent += 1;
        continue;
      }
      await recordFailure(mail, outcome.reason);
      result.failed += 1;
      if (!outcome.serverUnavailable) continue;
      // The rest would fail alike (or each wait out its own timeout): their claim counts as their attempt.
      for (const rest of batch.slice(index + 1)) await recordFailure(rest, outcome.reason);
      result.failed += batch.length - index - 1;
      pause(outcome.reason);
      break;
    }
    return result;
  }

  const pausedMs = (): number => pausedUntilMs - clock.now().getTime();

  async function drainOnce(): Promise<DrainResult> {
    if (pausedMs() > 0) return { sent: 0, failed: 0 };
    const batch = await store.claimBatch(db, { limit: batchSize, lockMs, now: clock.now() });
    return deliverBatch(batch);
  }

  async function look(): Promise<LookResult> {
    let tried = 0;
    try {
      const result = await drainOnce();
      tried = result.sent + result.failed;
    } catch (error) {
      logger.error({ err: describe(error) }, "outbox: drain failed");
    }
    // A full batch suggests a backlog: go again at once instead of waiting, unless paused.
    return { found: tried > 0, again: tried >= batchSize, notBeforeMs: pausedMs() };
  }

  const loop = createPollLoop({ pollMs, maxIdleMs: deps.maxIdleMs, look });
  // Mail queued by this process is looked for within pollMs, however long the idle wait has grown.
  store.onEnqueued(() => loop.wake());

  return {
    start: loop.start,
    stop: loop.stop,
    drainOnce,
    pausedUntil: () => (pausedMs() > 0 ? new Date(pausedUntilMs) : null),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError("service_unavailable", `send timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Nodemailer's codes for a connection that failed or ended, or a server that will not accept any mail
// from us (TLS, credentials); 421 is SMTP's "service not available, closing channel".
const SERVER_UNAVAILABLE_CODES = new Set(["ECONNECTION", "ESOCKET", "ETIMEDOUT", "EDNS", "ETLS", "EAUTH", "ENOAUTH", "EPROXY"]);

/** Whether the error concerns the mail server as a whole rather than this one mail. */
function isServerUnavailable(error: unknown): boolean {
  if (error instanceof AppError) return error.code === "service_unavailable";
  const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
  return responseCode === 421 || (typeof code === "string" && SERVER_UNAVAILABLE_CODES.has(code));
}

/** The error's message only: SMTP errors carry the server's reply, never the mail body. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
