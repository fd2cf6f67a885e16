/**
 * Wraps an async function to count its calls that have answered, e.g. a store's claim query, which tells how
 * often a background poller looked for work. `answered(n)` resolves once the n-th call has answered.
 */
export function countedCalls<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  const waiting = new Map<number, () => void>();
  const counter = {
    count: 0,
    async call(...args: A): Promise<R> {
      const result = await fn(...args);
      counter.count += 1;
      waiting.get(counter.count)?.();
      return result;
    },
    answered: (n: number) => new Promise<void>((resolve) => (counter.count >= n ? resolve() : waiting.set(n, resolve))),
  };
  return counter;
}
