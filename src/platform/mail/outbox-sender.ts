import type { Clock } from "../clock";
import type { Db } from "../db/prisma";
import type { Logger } from "../logger";
import type { Mailer } from "./mailer";
import type { ClaimedMail, OutboxStore } from "./outbox.store";

// Delivery guarantee. A row is marked sent right after the SMTP server accepts the message, under a
// claim fenced by its attempt number, so each mail normally goes out exactly once. Two windows remain
// where it can go out twice: the process dies (or the database is unreachable) between the SMTP accept
// and the mark, or a send outlives its timeout and still succeeds; the row then becomes due again and
// is resent. Nothing in that window is ever lost. SMTP offers no idempotency key to close it.

export type Backoff = (attempt: number) => number;

export type OutboxSenderDeps = {
  db: Db;
  store: OutboxStore;
  mailer: Mailer;
  clock: Clock;
  logger: Logger;
  batchSize?: number;
  pollMs?: number;
  /** Attempts before a mail is marked `failed` for good. */
  maxAttempts?: number;
  /** Delay before attempt n + 1 after attempt n failed. */
  backoff?: Backoff;
  /** One send may take this long before it counts as failed. */
  sendTimeoutMs?: number;
  /** How long a claim holds its rows; must cover a whole batch of timed-out sends. */
  lockMs?: number;
};

export type DrainResult = { sent: number; failed: number };

export type OutboxSender = {
  start(): void;
  /** Stops polling and waits for the batch in flight. */
  stop(): Promise<void>;
  /** Claims one batch and tries each mail once. */
  drainOnce(): Promise<DrainResult>;
};

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

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<unknown> = Promise.resolve();

  async function deliver(mail: ClaimedMail): Promise<boolean> {
    const log = { mailId: mail.id, kind: mail.kind, tenantId: mail.tenantId, attempt: mail.attempts };
    if (mail.attempts > maxAttempts) {
      // Only reachable through claims whose sender died; do not let such a row cycle forever.
      await store.markDead(db, mail, "gave up: claimed too often without a result");
      logger.error(log, "outbox: mail given up after repeated interrupted attempts");
      return false;
    }
    try {
      const message = { to: mail.to, subject: mail.subject, text: mail.text, ...(mail.html ? { html: mail.html } : {}) };
      await withTimeout(mailer.send(message), sendTimeoutMs);
    } catch (error) {
      const reason = describe(error);
      if (mail.attempts >= maxAttempts) {
        await store.markDead(db, mail, reason);
        logger.error({ ...log, err: reason }, "outbox: mail failed for good");
      } else {
        const nextAttemptAt = new Date(clock.now().getTime() + backoff(mail.attempts));
        await store.markFailed(db, mail, reason, nextAttemptAt);
        logger.warn({ ...log, err: reason, nextAttemptAt }, "outbox: send failed, will retry");
      }
      return false;
    }
    if (!(await store.markSent(db, mail, clock.now()))) {
      logger.warn(log, "outbox: sent after losing the claim; another sender may send it again");
    }
    logger.info(log, "outbox: mail sent");
    return true;
  }

  async function drainOnce(): Promise<DrainResult> {
    const batch = await store.claimBatch(db, { limit: batchSize, lockMs, now: clock.now() });
    const result: DrainResult = { sent: 0, failed: 0 };
    // One at a time: the lock was sized for a sequential batch, and SMTP servers throttle bursts.
    for (const mail of batch) {
      if (await deliver(mail)) result.sent += 1;
      else result.failed += 1;
    }
    return result;
  }

  async function tick(): Promise<void> {
    let full = false;
    try {
      const result = await drainOnce();
      full = result.sent + result.failed >= batchSize;
    } catch (error) {
      logger.error({ err: describe(error) }, "outbox: drain failed");
    }
    // A full batch suggests a backlog: go again at once instead of waiting a poll interval.
    if (running) schedule(full ? 0 : pollMs);
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      inFlight = tick();
    }, delayMs);
    timer.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight;
    },
    drainOnce,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`send timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The error's message only: SMTP errors carry the server's reply, never the mail body. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
