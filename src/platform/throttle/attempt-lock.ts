import { sha256Hex } from "../crypto";
import type { KvStore } from "../kv/kv-store";

// Longer than any bcrypt compare; a crashed holder's lock simply expires.
const LOCK_TTL_MS = 15_000;

/**
 * One credential check at a time per (account, IP, step). Throttle counters are read before and
 * written after the slow compare; without this, a burst of parallel guesses would all pass the same
 * check. A concurrent attempt gets `busy` (answered as throttled) instead of a compare.
 */
export async function withAttemptLock<T>(kv: KvStore, key: string, busy: T, attempt: () => Promise<T>): Promise<T> {
  const lock = `attempt-lock:${sha256Hex(key)}`;
  if (!(await kv.set(lock, "1", { ttlMs: LOCK_TTL_MS, onlyIfAbsent: true }))) return busy;
  try {
    return await attempt();
  } finally {
    await kv.del(lock);
  }
}
