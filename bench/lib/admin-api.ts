import type { BenchContext } from "./scenario";

/** One call to Gatehouse's admin API with the run's full-scope key; throws unless the status is `expect`. */
export async function adminCall<T>(context: BenchContext, method: "GET" | "POST", path: string, body: unknown, expect: number): Promise<T> {
  const response = await fetch(new URL(`/api/v1${path}`, context.gatehouseUrl), {
    method,
    headers: { authorization: `Bearer ${context.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expect) throw new Error(`${method} /api/v1${path}: expected ${expect}, got ${response.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Runs `task` over `items` with at most `limit` at a time, in order of the items. */
export async function inParallel<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
