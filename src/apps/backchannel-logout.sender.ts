import type { Clock } from "../platform/clock";
import type { Db } from "../platform/db/prisma";
import type { Logger } from "../platform/logger";
import { createPollLoop, type LookResult } from "../platform/poll-loop";
import type { BackchannelLogoutStore, ClaimedLogout, LogoutNotice } from "./backchannel-logout.store";
import type { OidcProvider } from "./oidc-provider-api";

type Deps = {
  db: Db;
  clock: Clock;
  logger: Logger;
  store: BackchannelLogoutStore;
  provider: () => Promise<OidcProvider>;
  /** Waits before each retry of a logout an app did not accept; after the last, the row is marked failed. */
  retryDelaysMs?: readonly number[];
  /** The wait between looks while retries are due, and the shortest while none are. */
  pollMs?: number;
  /** The longest wait between looks while no retry is due (16 × pollMs by default). */
  maxIdleMs?: number;
  batchSize?: number;
  /** How long a claim holds its rows; one attempt is bounded by the provider's HTTP timeout (2.5 s). */
  lockMs?: number;
};

// From the first failure: about 45 minutes of retries in all. An app that was redeploying or briefly down
// still hears of the logout; one gone for longer is left to its own session lifetime, and the failed row
// shows it.
const RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 2 * 60_000, 10 * 60_000, 30 * 60_000];

/**
 * Delivers back-channel logout tokens (OpenID Back-Channel Logout 1.0) to the apps owed one. Each notice
 * is recorded in PostgreSQL and tried at once by this instance; an app that is down or answers anything but
 * 200/204 gets it again after each delay, from whichever instance polls first, also after a restart.
 * Every attempt signs a fresh token (its own jti and iat); the app is looked up again each time, so an app
 * deleted or changed meanwhile is not sent the old URI's token.
 */
export function createBackchannelSender(deps: Deps) {
  const { db, clock, logger, store } = deps;
  const retryDelaysMs = deps.retryDelaysMs ?? RETRY_DELAYS_MS;
  const pollMs = deps.pollMs ?? 1_000;
  const batchSize = deps.batchSize ?? 50;
  const lockMs = deps.lockMs ?? 60_000;
  const inFlight = new Set<Promise<unknown>>();

  function track(work: Promise<unknown>): void {
    const tracked = work.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }

  /** Undefined when the app accepted the token (or no longer wants one), else why not. */
  async function attempt(provider: OidcProvider, { clientId, sub, sid }: LogoutNotice): Promise<string | undefined> {
    try {
      const client = await provider.Client.find(clientId);
      if (client?.backchannelLogoutUri) await client.backchannelLogout(sub, sid);
      return undefined;
    } catch (error) {
      // The app's answer may echo anything; keep only what failed, never the token.
      return error instanceof Error ? error.message : String(error);
    }
  }

  async function settle(provider: OidcProvider, claimed: ClaimedLogout): Promise<void> {
    const error = await attempt(provider, claimed);
    if (error === undefined) {
      await store.markDelivered(db, claimed);
      return;
    }
    const delay = retryDelaysMs[claimed.attempts - 1];
    logger.warn({ clientId: claimed.clientId, attempt: claimed.attempts, willRetry: delay !== undefined, err: error }, "back-channel logout not delivered");
    if (delay === undefined) await store.markFailed(db, claimed, error);
    else await store.markRetry(db, claimed, error, new Date(clock.now().getTime() + delay));
  }

  async function deliver(claimed: readonly ClaimedLogout[]): Promise<void> {
    if (claimed.length === 0) return;
    const provider = await deps.provider();
    // Apps side by side: one slow app must not hold up the others' logouts.
    await Promise.all(claimed.map((row) => settle(provider, row).catch((error: unknown) => logger.error({ err: error, clientId: row.clientId }, "recording a back-channel logout attempt failed"))));
  }

  /** Without the database the logout still goes out, once: the Gatehouse session is gone either way. */
  async function deliverUnrecorded(notices: readonly LogoutNotice[]): Promise<void> {
    const provider = await deps.provider();
    await Promise.all(notices.map(async (notice) => {
      const error = await attempt(provider, notice);
      if (error !== undefined) logger.warn({ clientId: notice.clientId, err: error }, "back-channel logout not delivered and not recorded for retry");
    }));
  }

  async function drainOnce(): Promise<number> {
    const claimed = await store.claimDue(db, batchSize, { lockMs, now: clock.now() });
    await deliver(claimed);
    return claimed.length;
  }

  async function look(): Promise<LookResult> {
    let claimed = 0;
    try {
      claimed = await drainOnce();
    } catch (error) {
      logger.error({ err: error }, "back-channel logout retries: drain failed");
    }
    return { found: claimed > 0, again: claimed >= batchSize };
  }

  const loop = createPollLoop({ pollMs, maxIdleMs: deps.maxIdleMs, look });

  return {
    /** Records the notices and sends them now, in the background: a slow app must not hold up a logout. */
    send(notices: readonly LogoutNotice[]): void {
      if (notices.length === 0) return;
      track((async () => {
        // Only apps that registered a back-channel URI are owed anything: the others get no row at all.
        const provider = await deps.provider();
        const owed = (await Promise.all(notices.map(async (n) => ((await provider.Client.find(n.clientId))?.backchannelLogoutUri ? n : undefined)))).filter((n) => n !== undefined);
        if (owed.length === 0) return;
        let claimed: ClaimedLogout[];
        try {
          claimed = await store.addClaimed(db, owed, { lockMs, now: clock.now() });
        } catch (error) {
          logger.error({ err: error }, "back-channel logouts could not be recorded; sending them once without retries");
          return deliverUnrecorded(owed);
        }
        await deliver(claimed);
        // Any refused now is due again in a second or more: poll at the short interval again.
        loop.wake();
      })().catch((error: unknown) => logger.error({ err: error }, "back-channel logout failed")));
    },

    /** Claims the due retries (and rows whose claim ran out) and tries each once. */
    drainOnce,

    /** Looks for due retries at once, then after each wait (see createPollLoop). */
    start: loop.start,

    /** Stops polling and waits for the attempts in flight. */
    async stop(): Promise<void> {
      await loop.stop();
      await this.settled();
    },

    /** Resolves when the attempts started so far are done (tests, graceful shutdown). */
    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

export type BackchannelSender = ReturnType<typeof createBackchannelSender>;
