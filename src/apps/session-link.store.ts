import type { KvStore } from "../platform/kv/kv-store";

const DAY_MS = 24 * 60 * 60 * 1000;
// Longer than any Gatehouse session lives (30 days): an index never expires before what it lists.
const INDEX_TTL_MS = 31 * DAY_MS;

const keys = {
  /** OpenID provider session (its stable uid) -> the Gatehouse session's public id. */
  provider: (providerSessionUid: string) => `oidc-link:op:${providerSessionUid}`,
  /** Gatehouse session -> the provider sessions bound to it. */
  gatehouse: (sessionId: string) => `oidc-link:gh:${sessionId}`,
};

/**
 * One session, not two: each provider session is bound to the Gatehouse session it was made from. The
 * provider consults the link at every authorization and token request; a revocation follows it the other way.
 */
export function createSessionLinkStore(kv: KvStore) {
  return {
    async link(providerSessionUid: string, gatehouseSessionId: string, ttlMs: number): Promise<void> {
      await kv.writeMany([
        { op: "setAdd", key: keys.gatehouse(gatehouseSessionId), members: [providerSessionUid] },
        { op: "expire", key: keys.gatehouse(gatehouseSessionId), ttlMs: INDEX_TTL_MS },
        { op: "set", key: keys.provider(providerSessionUid), value: gatehouseSessionId, ttlMs: Math.max(1, Math.min(ttlMs, INDEX_TTL_MS)) },
      ]);
    },

    gatehouseSessionOf: (providerSessionUid: string): Promise<string | null> => kv.get(keys.provider(providerSessionUid)),

    providerSessionsOf: (gatehouseSessionId: string): Promise<string[]> => kv.setMembers(keys.gatehouse(gatehouseSessionId)),

    /** Drops the links of an ended Gatehouse session and of the provider sessions it held. */
    async unlink(gatehouseSessionId: string, providerSessionUids: readonly string[]): Promise<void> {
      for (const uid of providerSessionUids) await kv.del(keys.provider(uid));
      await kv.del(keys.gatehouse(gatehouseSessionId));
    },
  };
}

export type SessionLinkStore = ReturnType<typeof createSessionLinkStore>;
