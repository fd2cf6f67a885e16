import { stringify } from "node:querystring";
import type { CacheItem, CacheProvider, Profile } from "@node-saml/node-saml";
import { sha256Hex } from "../../platform/crypto";
import type { KvStore } from "../../platform/kv/kv-store";
import type { Session } from "../../sessions/session";
import type { SsoConnectionRow } from "../connection.store";
import { NAMEID_UNSPECIFIED } from "./assertion-checks";
import { samlClient } from "./saml-client";
import { spEndpoints } from "./saml-settings";
import type { SpSigningKey } from "./sp-signing-key";

const LOGOUT_REQUEST_TTL_MS = 10 * 60 * 1000;

/**
 * Where node-saml records the LogoutRequests it sends, per tenant and shared by every instance, so that the
 * IdP's LogoutResponse can later be matched to one (InResponseTo) wherever it lands.
 */
export function logoutRequestCache(kv: KvStore, tenantId: string): CacheProvider {
  const key = (id: string) => `saml-logout-request:${tenantId}:${sha256Hex(id)}`;
  return {
    async saveAsync(id: string, value: string): Promise<CacheItem | null> {
      const stored = await kv.set(key(id), value, { ttlMs: LOGOUT_REQUEST_TTL_MS, onlyIfAbsent: true });
      return stored ? { value, createdAt: Date.now() } : null;
    },
    getAsync: (id: string) => kv.get(key(id)),
    removeAsync: async (id: string | null) => (id ? kv.getDel(key(id)) : null),
  };
}

/**
 * The IdP's single-logout URL with a signed LogoutRequest (HTTP-Redirect) for a SAML session, or null when
 * the session did not come from SAML, recorded no NameID, or the connection has no SLO endpoint.
 */
export async function buildLogoutUrl(input: {
  session: Session;
  tenantSlug: string;
  connection: SsoConnectionRow | null;
  publicUrl: string;
  key: SpSigningKey;
  kv: KvStore;
}): Promise<string | null> {
  const { session, connection } = input;
  const sso = session.sso;
  if (session.method !== "saml" || !sso?.nameId || !connection?.sloUrl) return null;
  const client = samlClient({
    endpoints: spEndpoints(input.publicUrl, input.tenantSlug),
    connection,
    key: input.key,
    requestCache: logoutRequestCache(input.kv, session.tenantId),
  });
  const subject = { nameID: sso.nameId, nameIDFormat: sso.nameIdFormat ?? NAMEID_UNSPECIFIED, sessionIndex: sso.sessionIndex } as Profile;
  return client.getLogoutUrlAsync(subject, "", {});
}

/**
 * The IdP's single-logout URL with our signed LogoutResponse (Success) to its LogoutRequest, over
 * HTTP-Redirect, or null when the connection has no SLO endpoint to answer at.
 */
export async function buildLogoutResponseUrl(input: {
  requestId: string;
  relayState?: string;
  tenantSlug: string;
  connection: SsoConnectionRow;
  publicUrl: string;
  key: SpSigningKey;
}): Promise<string | null> {
  const { connection } = input;
  if (!connection.sloUrl) return null;
  // node-saml builds every URL from its entry point, even one that only goes to the SLO endpoint.
  const client = samlClient({ endpoints: spEndpoints(input.publicUrl, input.tenantSlug), connection: { ...connection, ssoUrl: connection.ssoUrl ?? connection.sloUrl }, key: input.key });
  return client.getLogoutResponseUrlAsync({ ID: input.requestId } as Profile, echoableRelayState(input.relayState), {}, true);
}

/**
 * node-saml signs the query as querystring encodes it but writes the URL as URLSearchParams does; the two
 * differ on a few characters (space ! ' ( ) ~), and the IdP checks the signature over the URL. A RelayState
 * with those is left out: the answer then lacks it, rather than carrying a signature that cannot verify.
 */
function echoableRelayState(relayState: string | undefined): string {
  if (!relayState) return "";
  return stringify({ RelayState: relayState }) === new URLSearchParams({ RelayState: relayState }).toString() ? relayState : "";
}
