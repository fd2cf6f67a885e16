import { randomToken, sha256Hex } from "../platform/crypto";
import type { KvStore } from "../platform/kv/kv-store";

/**
 * Server-side state of an SSO login in flight, shared by every instance through the KV store.
 * The browser carries only an opaque id (SAML RelayState, OIDC `state`); `return_to` and the protocol
 * secrets (AuthnRequest ID, PKCE verifier, nonce) never leave the server. Each record is taken once.
 */
export type SsoFlow = {
  tenantId: string;
  connectionId: string;
  returnTo: string;
  /** SAML: the ID of the AuthnRequest, matched against the response's InResponseTo. */
  samlRequestId?: string;
  /** OIDC: PKCE verifier and nonce of this authorization request. */
  codeVerifier?: string;
  nonce?: string;
  /** The browser id cookie at the start (OIDC binds the callback to the browser that began it). */
  browserId?: string;
  /**
   * The step-up contexts asked of the IdP (SAML RequestedAuthnContext, OIDC acr_values); empty, or absent
   * in flows begun before it was kept, when none were. An IdP that cannot give them makes the login start
   * over without them (see stepUpFallback).
   */
  authnContexts?: string[];
  createdAt: number;
};

export const SSO_FLOW_TTL_MS = 10 * 60 * 1000;

const flowKey = (id: string) => `sso-flow:${sha256Hex(id)}`;
/** SAML InResponseTo -> flow id: the IdP's POST arrives without our cookies (SameSite=Lax). */
const requestKey = (tenantId: string, requestId: string) => `sso-saml-request:${tenantId}:${sha256Hex(requestId)}`;

export function createSsoFlowStore(deps: { kv: KvStore; ttlMs?: number }) {
  const { kv } = deps;
  const ttlMs = deps.ttlMs ?? SSO_FLOW_TTL_MS;
  return {
    ttlMs,
    /** Stores a new flow and returns its opaque id. */
    async begin(flow: SsoFlow): Promise<string> {
      const id = randomToken();
      await kv.set(flowKey(id), JSON.stringify(flow), { ttlMs });
      if (flow.samlRequestId) await kv.set(requestKey(flow.tenantId, flow.samlRequestId), id, { ttlMs });
      return id;
    },
    /** Single use: of two concurrent callers only one gets the flow. */
    async take(id: string): Promise<SsoFlow | null> {
      if (!id || id.length > 128) return null;
      const raw = await kv.getDel(flowKey(id));
      return raw ? (JSON.parse(raw) as SsoFlow) : null;
    },
    /** The flow a SAML response answers, by its InResponseTo, for this tenant only; single use. */
    async takeBySamlRequest(tenantId: string, requestId: string): Promise<SsoFlow | null> {
      if (!requestId || requestId.length > 256) return null;
      const id = await kv.getDel(requestKey(tenantId, requestId));
      if (!id) return null;
      const raw = await kv.getDel(flowKey(id));
      return raw ? (JSON.parse(raw) as SsoFlow) : null;
    },
  };
}

export type SsoFlowStore = ReturnType<typeof createSsoFlowStore>;
