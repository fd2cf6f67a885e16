import { constantTimeEqual, sha256Hex } from "../platform/crypto";
import type { OidcClient, OidcProvider } from "./oidc-provider-api";

/**
 * Two client rules oidc-provider has no setting for, applied to this provider's own Client class (each
 * provider instance has its own). Checked at start-up: should a new version rename either method, the
 * service refuses to start rather than compare secrets the library's way.
 */
export function applyClientRules(provider: OidcProvider): void {
  const prototype = provider.Client.prototype;
  if (typeof prototype.compareClientSecret !== "function" || typeof prototype.includeSid !== "function") {
    throw new Error("oidc-provider: Client.compareClientSecret or Client.includeSid is gone; review src/apps/provider-rules.ts for this version");
  }
  // Only the SHA-256 of a client secret is stored (clientMetadataOf puts it where the secret would be), so the
  // presented secret is hashed before the constant-time comparison. The hash itself is not a secret that works.
  prototype.compareClientSecret = function compareHashedSecret(this: OidcClient, presented: string): boolean {
    return typeof presented === "string" && typeof this.clientSecret === "string" && constantTimeEqual(sha256Hex(presented), this.clientSecret);
  };
  // Every ID token carries `sid`, the value back-channel logout tokens name, not only for apps with a logout URI.
  prototype.includeSid = () => true;
}
