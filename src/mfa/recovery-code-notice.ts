import type { KvStore } from "../platform/kv/kv-store";

const TTL_MS = 10 * 60 * 1000;
const key = (sessionId: string) => `recovery-codes-once:${sessionId}`;

/**
 * New recovery codes wait here, for the session that enrolled, until the account page shows them:
 * taken once (read and deleted in one step), gone after ten minutes either way.
 */
export function createRecoveryCodeNotices(deps: { kv: KvStore }) {
  return {
    async put(sessionId: string, codes: string[]): Promise<void> {
      await deps.kv.set(key(sessionId), JSON.stringify(codes), { ttlMs: TTL_MS });
    },
    async take(sessionId: string): Promise<string[] | null> {
      const raw = await deps.kv.getDel(key(sessionId));
      return raw ? (JSON.parse(raw) as string[]) : null;
    },
  };
}

export type RecoveryCodeNotices = ReturnType<typeof createRecoveryCodeNotices>;
