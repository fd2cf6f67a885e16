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

/** The IdP answered that it cannot give the step-up contexts asked of it (SAML NoAuthnContext, OIDC unmet_authentication_requirements). */
export const STEP_UP_UNAVAILABLE = "step_up_unavailable";

/**
 * Whether a refused login should start over without step-up contexts: the IdP said it cannot give them,
 * and this login asked for some. The app's demand for a second factor stands: the login that follows,
 * with the IdP's usual authentication, is held for the local TOTP (SsoLoginService.complete), so nothing
 * is granted on less. A forged refusal (it need not be signed) can only cause that. The restarted login
 * asks for nothing, so it cannot come back here.
 */
export function stepUpFallback(error: unknown, askedContexts: readonly string[] | undefined): boolean {
  return error instanceof SsoRefused && error.reason === STEP_UP_UNAVAILABLE && (askedContexts?.length ?? 0) > 0;
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
