import { monitorEventLoopDelay } from "node:perf_hooks";

export type EventLoopDelay = { p50Ms: number; p99Ms: number; maxMs: number; samples: number };

/**
 * Event-loop delay of this process while the given work runs. Both servers run in this process, so it
 * shows whether the one under load ever holds the loop; the load generators run in worker threads and
 * have loops of their own. Several periods combine like autocannon's runs: percentiles weighted by samples.
 */
export function createEventLoopGauge() {
  const periods: EventLoopDelay[] = [];
  const ms = (nanoseconds: number) => nanoseconds / 1e6;
  return {
    async during<T>(work: () => Promise<T>): Promise<T> {
      // A fresh histogram per period: re-enabling one would count the pause in between as a delay.
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      try {
        return await work();
      } finally {
        histogram.disable();
        periods.push({ p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max), samples: histogram.count });
      }
    },
    delay(): EventLoopDelay {
      const samples = periods.reduce((sum, p) => sum + p.samples, 0);
      const weighted = (pick: (p: EventLoopDelay) => number) => (samples > 0 ? periods.reduce((sum, p) => sum + pick(p) * p.samples, 0) / samples : Number.NaN);
      return { p50Ms: weighted((p) => p.p50Ms), p99Ms: weighted((p) => p.p99Ms), maxMs: Math.max(...periods.map((p) => p.maxMs)), samples };
    },
  };
}
