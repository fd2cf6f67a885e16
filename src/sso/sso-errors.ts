import { AppError } from "../platform/errors";

/**
 * A protocol check refused the identity provider's answer. `reason` is a stable, short code
 * (`signature_invalid`, `audience_mismatch`, `replayed`, `state_mismatch`, ...) recorded with the
 * failure for IdP health; the browser sees only a generic page.
 */
export class SsoRefused extends AppError {
  constructor(readonly reason: string, options: { cause?: unknown } = {}) {
    super("sso_response_invalid", "The sign-in response from your identity provider was refused. Start again from your organisation's sign-in page.", options);
  }
}

/** Why an SSO login found no account; recorded with the failure, not shown to the user in detail. */
export type NoAccountReason =
  | "user_deactivated" | "email_missing" | "email_unverified" | "email_domain_not_allowed" | "no_matching_user" | "user_linked_elsewhere" | "ip_not_allowed";

export class NoSsoAccount extends AppError {
  constructor(readonly reason: NoAccountReason) {
    super(
      "sso_account_unavailable",
      reason === "ip_not_allowed"
        ? "Your organisation does not allow sign-in from this network."
        : "Your identity provider signed you in, but there is no active account for you here. Contact your administrator.",
    );
  }
}

/** The reason to record for any error raised while handling an SSO response. */
export function failureReason(error: unknown): string {
  if (error instanceof SsoRefused || error instanceof NoSsoAccount) return error.reason;
  return "internal_error";
}
