import { randomToken } from "../platform/crypto";
import type { Db } from "../platform/db/prisma";
import type { KvStore } from "../platform/kv/kv-store";
import type { ApplicationRow, ApplicationStore } from "./application.store";
import type { AdapterPayload, OidcAdapter, OidcClient } from "./oidc-provider-api";

/** Client metadata of ours, kept on oidc-provider's client object under these names (see extraClientMetadata). */
export const FIRST_PARTY = "gatehouse_first_party";
export const TENANT_IDS = "gatehouse_tenant_ids";
export const GATEHOUSE_CLIENT_METADATA = [FIRST_PARTY, TENANT_IDS];

/** An application row as oidc-provider client metadata. Everything an app may not choose is fixed here. */
export function clientMetadataOf(row: ApplicationRow): AdapterPayload {
  return {
    client_id: row.clientId,
    // The SHA-256 of the secret: the provider compares against it through the hashing rule in provider-rules.ts.
    client_secret: row.clientSecretHash,
    client_name: row.name,
    application_type: "web",
    redirect_uris: row.redirectUris,
    post_logout_redirect_uris: row.postLogoutRedirectUris,
    ...(row.backchannelLogoutUri ? { backchannel_logout_uri: row.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
    grant_types: row.refreshTokens ? ["authorization_code", "refresh_token"] : ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: row.tokenEndpointAuthMethod,
    id_token_signed_response_alg: "RS256",
    [FIRST_PARTY]: row.firstParty,
    [TENANT_IDS]: row.tenantIds,
  };
}

export const isFirstParty = (client: OidcClient | undefined): boolean => (client as Record<string, unknown> | undefined)?.[FIRST_PARTY] === true;

/** Tenant ids the app is restricted to; empty for every tenant. */
export const tenantIdsOf = (client: OidcClient): string[] => {
  const value = (client as unknown as Record<string, unknown>)[TENANT_IDS];
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === "string") : [];
};

const VERSION_KEY = "oidc:applications-version";
// How long an instance trusts the version it last read: a change made elsewhere applies here within this
// (the same bound as an SSO switch), and a token request does not pay a KV round trip for it.
const VERSION_FRESH_MS = 500;
const CACHE_MAX_AGE_MS = 60_000;
const CACHE_ENTRIES = 1000;

/**
 * The version of the application registry. Every change writes a new random version, so each instance's
 * client cache is stale at its next version read. Random, not a counter, so that a version lost with the
 * KV store cannot come back equal. The instance that made the change forgets the version it knew at once.
 */
export function createApplicationsVersion(kv: KvStore, options: { freshForMs?: number; now?: () => number } = {}) {
  const freshForMs = options.freshForMs ?? VERSION_FRESH_MS;
  const now = options.now ?? Date.now;
  let known: { value: string | null; at: number } | null = null;
  let reading: Promise<string | null> | null = null;
  // Bumped by every local change: a read that began before it must not bring back the old version.
  let generation = 0;

  return {
    async changed(): Promise<void> {
      generation += 1;
      known = null;
      await kv.set(VERSION_KEY, randomToken(12));
      // Again after the write: a read that began while the write was in flight may have kept the old version.
      generation += 1;
      known = null;
    },

    current(): Promise<string | null> {
      if (known && now() - known.at < freshForMs) return Promise.resolve(known.value);
      if (!reading) {
        const startedIn = generation;
        const read = kv.get(VERSION_KEY).then((value) => {
          if (startedIn === generation) known = { value, at: now() };
          return value;
        });
        reading = read.finally(() => {
          reading = null;
        });
      }
      return reading;
    },
  };
}

export type ApplicationsVersion = ReturnType<typeof createApplicationsVersion>;

/**
 * The provider's Client model reads the applications table; clients are never written through the provider.
 * Lookups are cached per instance while the registry version is unchanged, and for a minute at most, should
 * a change fail to write its version.
 */
export function createClientAdapter(db: Db, store: ApplicationStore, versions: ApplicationsVersion): OidcAdapter {
  const cache = new Map<string, { version: string | null; at: number; metadata: AdapterPayload }>();
  const readOnly = async (): Promise<never> => {
    throw new Error("applications are managed through /api/v1/applications");
  };
  return {
    async find(clientId) {
      // Client ids are ours (randomToken): anything longer is not worth a query.
      if (clientId.length > 64) return undefined;
      const version = await versions.current();
      const cached = cache.get(clientId);
      if (cached && cached.version === version && Date.now() - cached.at < CACHE_MAX_AGE_MS) return cached.metadata;
      const row = await store.findByClientId(db, clientId);
      if (!row) return undefined;
      // Only apps that exist are kept: a stream of made-up client ids cannot flush the cache.
      const metadata = clientMetadataOf(row);
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(clientId, { version, at: Date.now(), metadata });
      return metadata;
    },
    upsert: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: async () => undefined,
  };
}
