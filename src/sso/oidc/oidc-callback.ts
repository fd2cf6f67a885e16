import * as oidc from "openid-client";
import { constantTimeEqual, type SecretBox } from "../../platform/crypto";
import type { TenantRow } from "../../tenants/tenant.store";
import type { SsoConnectionRow } from "../connection.store";
import { SsoRefused } from "../sso-errors";
import type { SsoFlow, SsoFlowStore } from "../sso-flow.store";
import type { SsoAuthentication, SsoLoginService } from "../sso-login.service";
import { authenticationOf, claimMappingOf, externalClaimsOf, needsUserInfo } from "./oidc-claims";
import { clientConfiguration, keepJwks, redirectUriOf } from "./oidc-client";
import type { IssuerCache, IssuerEntry } from "./oidc-issuers";
import { refusalOf } from "./oidc-refusals";
import { holdsTransaction } from "./oidc-transaction";

type Deps = {
  flows: SsoFlowStore;
  login: SsoLoginService;
  issuers: IssuerCache;
  secretBox: SecretBox;
  publicUrl: string;
  allowHttp: boolean;
};

export type CallbackTarget = { tenant: TenantRow; connection: SsoConnectionRow };
export type OpenedCallback = CallbackTarget & { state: string; flow: SsoFlow & { codeVerifier: string; nonce: string } };

/** What the browser brought to the callback besides the query: its browser id and the bindings of its pending flows. */
export type CallbackBrowser = { browserId?: string; transactions: readonly string[] };

/** The flow a callback names, when it names exactly one. */
export function callbackState(params: URLSearchParams): string | undefined {
  const states = params.getAll("state");
  return states.length === 1 && states[0] ? states[0] : undefined;
}

export function createOidcCallback(deps: Deps) {
  async function issuerOf(connection: SsoConnectionRow): Promise<IssuerEntry> {
    try {
      return await deps.issuers.get(connection.issuer ?? "", connection.clientId ?? "");
    } catch (error) {
      throw new SsoRefused("discovery_failed", { cause: error });
    }
  }

  return {
    /**
     * The flow this callback answers: named by `state`, taken once (a replayed callback finds nothing),
     * begun for this tenant's OIDC connection, in this browser.
     */
    async open(target: CallbackTarget, params: URLSearchParams, browser: CallbackBrowser): Promise<OpenedCallback> {
      const state = callbackState(params);
      if (!state) throw new SsoRefused("state_missing");
      const flow = await deps.flows.take(state);
      if (!flow) throw new SsoRefused("state_unknown");
      if (flow.tenantId !== target.tenant.id || !flow.codeVerifier || !flow.nonce) throw new SsoRefused("state_mismatch");
      const opened = flow.connectionId === target.connection.id ? target : await deps.login.connectionFor(target.tenant.slug, "oidc", flow.connectionId);
      if (!opened) throw new SsoRefused("state_mismatch");
      // Login CSRF and stolen callback URLs: only the browser that began the flow may finish it, and only
      // while it still holds this flow's binding (one of its few pending ones).
      const sameBrowser = !!flow.browserId && !!browser.browserId && constantTimeEqual(flow.browserId, browser.browserId);
      const sameTransaction = holdsTransaction(browser.transactions, state);
      if (!sameBrowser || !sameTransaction) throw new SsoRefused("browser_mismatch");
      return { ...opened, state, flow: { ...flow, codeVerifier: flow.codeVerifier, nonce: flow.nonce } };
    },

    /**
     * Checks the authorization response (RFC 9207 `iss`, `state`, `error`), redeems the code with the
     * PKCE verifier, and checks the ID token (signature against the issuer's JWKS, iss, aud, azp, exp,
     * nonce); then reads the claims the linking rules need.
     */
    async exchange(opened: OpenedCallback, params: URLSearchParams): Promise<SsoAuthentication> {
      const { connection, tenant, flow } = opened;
      const entry = await issuerOf(connection);
      const config = clientConfiguration(entry, connection, deps);
      // Built from our own redirect URI, never from the Host header: the token request must repeat it exactly.
      const callbackUrl = new URL(redirectUriOf(deps.publicUrl, tenant.slug));
      callbackUrl.search = params.toString();
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      let userInfo: oidc.UserInfoResponse | undefined;
      try {
        tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          expectedState: opened.state,
          expectedNonce: flow.nonce,
          pkceCodeVerifier: flow.codeVerifier,
          idTokenExpected: true,
        });
        const idClaims = tokens.claims();
        if (!idClaims || !tokens.id_token) throw new SsoRefused("id_token_missing");
        requireAuthorizedParty(idClaims, config.clientMetadata().client_id);
        const mapping = claimMappingOf(connection);
        if (needsUserInfo(idClaims, mapping) && entry.metadata.userinfo_endpoint) userInfo = await readUserInfo(config, tokens.access_token, idClaims.sub);
        return authenticationOf(tokens.id_token, idClaims, externalClaimsOf(idClaims, userInfo, mapping));
      } catch (error) {
        throw refusalOf(error);
      } finally {
        keepJwks(entry, config);
      }
    },
  };
}

/** The userinfo response; fetchUserInfo refuses one about another subject than the ID token's. */
async function readUserInfo(config: oidc.Configuration, accessToken: string, subject: string): Promise<oidc.UserInfoResponse> {
  try {
    return await oidc.fetchUserInfo(config, accessToken, subject);
  } catch (error) {
    const refusal = refusalOf(error);
    throw refusal instanceof SsoRefused ? new SsoRefused("userinfo_failed", { cause: error }) : refusal;
  }
}

/**
 * OpenID Connect Core §3.1.3.7: an `azp` must name us. openid-client checks it only when `aud` lists
 * several audiences; a token issued to another client of the same IdP must not log anyone in here.
 */
function requireAuthorizedParty(claims: oidc.IDToken, clientId: string): void {
  if (claims.azp !== undefined && claims.azp !== clientId) throw new SsoRefused("aud_mismatch");
}

export type OidcCallback = ReturnType<typeof createOidcCallback>;
