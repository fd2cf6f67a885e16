import { createPollLoop, type LookResult, type PollLoop } from "../../../src/platform/poll-loop";

/** A loop whose looks answer from `answers` in turn (then "nothing found"), recording when each came. */
function recordingLoop(options: { pollMs: number; maxIdleMs?: number; answers?: LookResult[] }) {
  const at: number[] = [];
  const answers = [...(options.answers ?? [])];
  const start = Date.now();
  const loop = createPollLoop({
    pollMs: options.pollMs,
    maxIdleMs: options.maxIdleMs,
    look: async () => {
      at.push(Date.now() - start);
      return answers.shift() ?? { found: false };
    },
  });
  return { loop, at };
}

let running: PollLoop[] = [];

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));

afterEach(async () => {
  for (const loop of running) await loop.stop();
  running = [];
  jest.useRealTimers();
});

function started<T extends { loop: PollLoop }>(made: T): T {
  running.push(made.loop);
  made.loop.start();
  return made;
}

describe("poll loop", () => {
  it("doubles its wait after each look that found nothing, up to maxIdleMs", async () => {
    const { at } = started(recordingLoop({ pollMs: 10, maxIdleMs: 80 }));

    await jest.advanceTimersByTimeAsync(400);

    // Waits of 10, 20, 40, 80, then 80 again: a fixed 10 ms poll would have looked 41 times.
    expect(at).toEqual([0, 10, 30, 70, 150, 230, 310, 390]);
  });

  it("uses 16 × pollMs as the longest wait when none is given", async () => {
    const { at } = started(recordingLoop({ pollMs: 10 }));

    await jest.advanceTimersByTimeAsync(1_000);

    expect(at.slice(-3)).toEqual([630, 790, 950]);
  });

  it("goes back to pollMs after a look that found work, at once after a full batch, and not before a pause ends", async () => {
    const answers: LookResult[] = [{ found: false }, { found: false }, { found: false }, { found: true }, { found: true, again: true }, { found: true, notBeforeMs: 500 }];
    const { at } = started(recordingLoop({ pollMs: 10, maxIdleMs: 1_000, answers }));

    await jest.advanceTimersByTimeAsync(600);

    // 0, +10, +20, +40 (found: back to 10), +10 (full batch: at once, which a timer makes 1 ms),
    // +500 (paused), then idle from 10 again.
    expect(at).toEqual([0, 10, 30, 70, 80, 81, 581, 591]);
  });

  it("looks within pollMs of a wake, however long its idle wait had grown, and starts the doubling over", async () => {
    const { loop, at } = started(recordingLoop({ pollMs: 10, maxIdleMs: 10_000 }));
    await jest.advanceTimersByTimeAsync(1_300);
    expect(at).toEqual([0, 10, 30, 70, 150, 310, 630, 1270]);

    loop.wake();
    await jest.advanceTimersByTimeAsync(100);

    // Without the wake the next look was due at 2,550.
    expect(at.slice(8)).toEqual([1310, 1320, 1340, 1380]);
  });

  it("looks at once on wake(0)", async () => {
    const { loop, at } = started(recordingLoop({ pollMs: 1_000 }));
    await jest.advanceTimersByTimeAsync(5);

    loop.wake(0);
    await jest.advanceTimersByTimeAsync(0);

    expect(at).toEqual([0, 5]);
  });

  it("keeps an earlier look when a wake would put it later", async () => {
    const { loop, at } = started(recordingLoop({ pollMs: 10, maxIdleMs: 10_000 }));
    await jest.advanceTimersByTimeAsync(12);

    loop.wake(1_000);
    await jest.advanceTimersByTimeAsync(30);

    // The look due at 30 stays at 30; the wake reset the doubling, so the next comes 10 ms after it.
    expect(at).toEqual([0, 10, 30, 40]);
  });

  it("counts a look that failed as one that found nothing", async () => {
    const at: number[] = [];
    const start = Date.now();
    const loop = createPollLoop({ pollMs: 10, look: () => (at.push(Date.now() - start), Promise.reject(new Error("database down"))) });
    running.push(loop);
    loop.start();

    await jest.advanceTimersByTimeAsync(100);

    expect(at).toEqual([0, 10, 30, 70]);
  });

  it("waits for the look in progress on stop, and looks no more after it", async () => {
    let finish: () => void = () => undefined;
    let looks = 0;
    const loop = createPollLoop({ pollMs: 10, look: () => ((looks += 1), new Promise<LookResult>((resolve) => (finish = () => resolve({ found: true })))) });
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(looks).toBe(1);

    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(50);
    expect(stopped).toBe(false);

    finish();
    await stopping;
    loop.wake(0);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(looks).toBe(1);
  });
});
