import { emailAddress } from "../users/user.schemas";

/**
 * An app's `login_hint` (OpenID Connect), carried to the login form to prefill the email. Only what the
 * service accepts as an email address is kept: anything else is dropped, never echoed.
 */
export function loginHintOf(value: unknown): string {
  const parsed = emailAddress.safeParse(value);
  return parsed.success ? parsed.data : "";
}
