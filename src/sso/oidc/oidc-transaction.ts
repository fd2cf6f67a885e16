import { createHash } from "node:crypto";

/**
 * The value of the short-lived cookie that binds one authorization request to the browser that made it:
 * a digest of its `state`, so the cookie alone names no flow. A callback arriving without it (another
 * browser, or a page that planted an attacker's callback URL) is refused.
 */
export function transactionBindingOf(state: string): string {
  return createHash("sha256").update(`oidc-transaction:${state}`).digest("base64url");
}
