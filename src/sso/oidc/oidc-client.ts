import * as oidc from "openid-client";
import type { SecretBox } from "../../platform/crypto";
import { clientSecretContext } from "../connection.service";
import type { SsoConnectionRow } from "../connection.store";
import { SsoRefused } from "../sso-errors";
import type { IssuerEntry } from "./oidc-issuers";

/** Token, userinfo and key-set requests; a hung IdP must not hold the callback for openid-client's default 30 s. */
const REQUEST_TIMEOUT_SECONDS = 10;

/** The redirect URI registered at the IdP: exactly one per tenant. */
export const redirectUriOf = (publicUrl: string, slug: string) => `${publicUrl}/sso/${encodeURIComponent(slug)}/oidc/callback`;

/**
 * openid-client's view of one connection: the cached issuer metadata, the client id, and the client
 * secret opened only here and sent only as HTTP Basic (client_secret_basic) to the token endpoint.
 */
export function clientConfiguration(entry: IssuerEntry, connection: SsoConnectionRow, options: { secretBox: SecretBox; allowHttp: boolean }): oidc.Configuration {
  if (!connection.clientId || !connection.clientSecretSealed) throw new SsoRefused("connection_incomplete");
  let secret: string;
  try {
    secret = options.secretBox.open(connection.clientSecretSealed, clientSecretContext(connection.id));
  } catch (error) {
    // Sealed under a key that is no longer configured, or copied from another row.
    throw new SsoRefused("client_secret_unavailable", { cause: error });
  }
  const config = new oidc.Configuration({ ...entry.metadata }, connection.clientId, undefined, oidc.ClientSecretBasic(secret));
  config.timeout = REQUEST_TIMEOUT_SECONDS;
  if (options.allowHttp) oidc.allowInsecureRequests(config);
  // In the code flow openid-client trusts the ID token for coming over TLS from the token endpoint and
  // does not verify its signature; this turns the check on (JWKS from the issuer; none and HS* refused).
  oidc.enableNonRepudiationChecks(config);
  if (entry.jwks) oidc.setJwksCache(config, entry.jwks);
  return config;
}

/** Keeps the key set openid-client downloaded (or still holds) for the next login through this issuer. */
export function keepJwks(entry: IssuerEntry, config: oidc.Configuration): void {
  const jwks = oidc.getJwksCache(config);
  if (jwks) entry.jwks = jwks;
}
