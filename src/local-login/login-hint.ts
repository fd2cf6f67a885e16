/**
 * An app's `login_hint` (OpenID Connect), carried to the login form to prefill the email. Only a plausible
 * email address is kept: anything else is dropped, never echoed.
 */
export function loginHintOf(value: unknown): string {
  if (typeof value !== "string") return "";
  const hint = value.trim();
  return hint.length <= 320 && /^[^\s@<>"']+@[^\s@<>"']+$/.test(hint) ? hint : "";
}
