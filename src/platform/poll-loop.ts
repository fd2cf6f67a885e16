/**
 * What one look for work found. `found`: there was work (the wait goes back to `pollMs`). `again`: more is
 * waiting (a full batch), look again at once. `notBeforeMs`: do not look again sooner than this (a pause).
 */
export type LookResult = { found: boolean; again?: boolean; notBeforeMs?: number };

export type PollLoopOptions = {
  /** The wait after a look that found work, and the shortest wait after one that did not. */
  pollMs: number;
  /** The longest wait while idle; 16 × pollMs when absent. */
  maxIdleMs?: number;
  /** One look for work; it handles its own errors (a rejection counts as a look that found nothing). */
  look: () => Promise<LookResult>;
};

export type PollLoop = {
  start(): void;
  /** Stops polling and waits for the look in progress. */
  stop(): Promise<void>;
  /**
   * Work was just queued here: the wait goes back to `pollMs`, and the next look comes within `withinMs`
   * (default `pollMs`: a row written in a transaction still open would not be seen at once).
   */
  wake(withinMs?: number): void;
};

/** Past this many idle looks in a row the wait stops growing anyway (2^30 × pollMs is past any cap). */
const MAX_DOUBLINGS = 30;

/**
 * The schedule of a background poller (mail outbox, back-channel logout retries, rotation campaigns).
 * Polling a table every second costs every instance a query a second, and a few milliseconds of its main
 * thread, while there is nothing to do, which is most of the time. After each look that found nothing the
 * wait doubles, from `pollMs` up to `maxIdleMs`; a look that found work, or a wake, brings it back to
 * `pollMs`. Work queued on this instance wakes its own loop, so it is not delayed; what waits longer is
 * work left by another instance (one that stopped mid-way) and retries that fell due, by at most `maxIdleMs`.
 */
export function createPollLoop(options: PollLoopOptions): PollLoop {
  const { pollMs, look } = options;
  const maxIdleMs = Math.max(pollMs, options.maxIdleMs ?? pollMs * 16);
  let idleLooks = 0;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let dueAt = Infinity;
  let current: Promise<void> | undefined;

  function waitAfter(result: LookResult): number {
    if (result.found) idleLooks = 0;
    const wait = result.again ? 0 : result.found ? pollMs : Math.min(maxIdleMs, pollMs * 2 ** Math.min(idleLooks++, MAX_DOUBLINGS));
    return Math.max(wait, result.notBeforeMs ?? 0);
  }

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    dueAt = Date.now() + delayMs;
    timer = setTimeout(run, delayMs);
    timer.unref();
  }

  function run(): void {
    timer = undefined;
    dueAt = Infinity;
    current = look()
      .catch((): LookResult => ({ found: false }))
      .then((result) => {
        current = undefined;
        if (running) schedule(waitAfter(result));
      });
  }

  return {
    start() {
      if (running) return;
      running = true;
      idleLooks = 0;
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      timer = undefined;
      await current;
    },
    wake(withinMs = pollMs) {
      idleLooks = 0;
      // A look in progress schedules the next one when it ends, from the reset count.
      if (!running || current) return;
      if (dueAt > Date.now() + withinMs) schedule(withinMs);
    },
  };
}
