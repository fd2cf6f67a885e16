import { sha256Hex } from "../../platform/crypto";
import type { KvStore } from "../../platform/kv/kv-store";
import { SsoRefused } from "../sso-errors";

const MIN_TTL_MS = 1000;

/**
 * Each assertion ID is accepted once per connection, across every instance: the first SET NX wins.
 * The key lives until the assertion would be refused as expired anyway.
 */
export async function acceptAssertionOnce(kv: KvStore, input: { connectionId: string; assertionId: string; refusedAfter: number; now: number }): Promise<void> {
  const key = `saml-assertion:${input.connectionId}:${sha256Hex(input.assertionId)}`;
  const ttlMs = Math.max(input.refusedAfter - input.now, MIN_TTL_MS);
  const first = await kv.set(key, "1", { ttlMs, onlyIfAbsent: true });
  if (!first) throw new SsoRefused("replayed");
}
