import * as oidc from "openid-client";
import type { Clock } from "../../platform/clock";
import { AppError } from "../../platform/errors";

/** An IdP's discovery document as fetched, and the signing keys last seen at its jwks_uri. */
export type IssuerEntry = {
  metadata: oidc.ServerMetadata;
  fetchedAt: number;
  /** Written back after each login so the next one does not download the key set again (openid-client refreshes it after 5 minutes). */
  jwks?: oidc.ExportedJWKSCache;
};

/** Long enough that a callback never refetches; short enough that a moved endpoint or new key is picked up within the hour. */
export const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const DISCOVERY_TIMEOUT_SECONDS = 5;

/**
 * Discovery documents per issuer, in this process's memory for `ttlMs`. Concurrent logins to a cold
 * issuer share one request; a failed fetch is not cached, so the next login tries again.
 */
export function createIssuerCache(deps: { clock: Clock; allowHttp: boolean; ttlMs?: number }) {
  const ttlMs = deps.ttlMs ?? DISCOVERY_TTL_MS;
  const entries = new Map<string, IssuerEntry>();
  const pending = new Map<string, Promise<IssuerEntry>>();

  async function fetchEntry(issuer: string, clientId: string): Promise<IssuerEntry> {
    try {
      const found = await oidc.discovery(new URL(issuer), clientId, undefined, undefined, {
        timeout: DISCOVERY_TIMEOUT_SECONDS,
        // Same rule as the discovery check on save: plain http only outside production.
        execute: deps.allowHttp ? [oidc.allowInsecureRequests] : [],
      });
      const entry: IssuerEntry = { metadata: { ...found.serverMetadata() }, fetchedAt: deps.clock.now().getTime() };
      entries.set(issuer, entry);
      return entry;
    } catch (error) {
      throw new AppError("oidc_discovery_failed", `issuer: discovery of ${issuer} failed`, { cause: error });
    }
  }

  return {
    /** The issuer's metadata; `clientId` only satisfies openid-client's discovery call (the entry is shared by every client). */
    get(issuer: string, clientId: string): Promise<IssuerEntry> {
      const cached = entries.get(issuer);
      if (cached && deps.clock.now().getTime() - cached.fetchedAt < ttlMs) return Promise.resolve(cached);
      let inFlight = pending.get(issuer);
      if (!inFlight) {
        inFlight = fetchEntry(issuer, clientId).finally(() => pending.delete(issuer));
        pending.set(issuer, inFlight);
      }
      return inFlight;
    },
  };
}

export type IssuerCache = ReturnType<typeof createIssuerCache>;
