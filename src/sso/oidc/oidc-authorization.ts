import * as oidc from "openid-client";
import type { Clock } from "../../platform/clock";
import type { TenantRow } from "../../tenants/tenant.store";
import type { SsoConnectionRow } from "../connection.store";
import type { SsoFlowStore } from "../sso-flow.store";
import { redirectUriOf } from "./oidc-client";

type Deps = { clock: Clock; flows: SsoFlowStore; publicUrl: string };

export type AuthorizationStart = {
  tenant: TenantRow; connection: SsoConnectionRow; returnTo: string; browserId: string; config: oidc.Configuration;
  /** Sent as `acr_values` (step-up); none when empty. */
  authnContexts: string[];
};

/**
 * The authorization request: code flow with PKCE S256 always, a fresh nonce, and as `state` the id of
 * the server-side flow that holds the verifier, the nonce and `return_to` (none of them leave the server).
 */
export async function startAuthorization(deps: Deps, input: AuthorizationStart): Promise<{ url: string; state: string }> {
  const { tenant, connection } = input;
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = await deps.flows.begin({
    tenantId: tenant.id, connectionId: connection.id, returnTo: input.returnTo,
    codeVerifier, nonce, browserId: input.browserId, createdAt: deps.clock.now().getTime(),
    authnContexts: input.authnContexts,
  });
  const url = oidc.buildAuthorizationUrl(input.config, {
    redirect_uri: redirectUriOf(deps.publicUrl, tenant.slug),
    response_type: "code",
    scope: scopeOf(connection),
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    // A voluntary claim request (OpenID Connect Core 3.1.2.1): the ID token's acr says what the IdP did.
    ...(input.authnContexts.length > 0 ? { acr_values: input.authnContexts.join(" ") } : {}),
  });
  return { url: url.href, state };
}

/** The connection's scopes, with `openid` always first: without it the IdP answers plain OAuth, no ID token. */
function scopeOf(connection: SsoConnectionRow): string {
  const scopes = connection.scopes.length > 0 ? connection.scopes : ["email", "profile"];
  return ["openid", ...scopes.filter((scope) => scope !== "openid")].join(" ");
}
