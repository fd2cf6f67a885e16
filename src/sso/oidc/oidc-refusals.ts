import * as oidc from "openid-client";
import { isAppError } from "../../platform/errors";
import { STEP_UP_UNAVAILABLE, SsoRefused } from "../sso-errors";

// oauth4webapi error codes (stable strings; openid-client re-throws them as ClientError.code).
const JWT_CLAIM_COMPARISON = "OAUTH_JWT_CLAIM_COMPARISON_FAILED";
const JWT_TIMESTAMP_CHECK = "OAUTH_JWT_TIMESTAMP_CHECK_FAILED";
const INVALID_RESPONSE = "OAUTH_INVALID_RESPONSE";
const UNSUPPORTED_OPERATION = "OAUTH_UNSUPPORTED_OPERATION";

const CLAIM_REASONS: Record<string, string> = { aud: "aud_mismatch", azp: "aud_mismatch", nonce: "nonce_mismatch", iss: "id_token_iss_mismatch" };

/**
 * INVALID_RESPONSE and UNSUPPORTED_OPERATION cover several checks; only the message tells them apart.
 * These are oauth4webapi 3.8's messages, pinned by the tests (a changed one falls back to `idp_response_invalid`).
 */
const INVALID_RESPONSE_REASONS: [RegExp, string][] = [
  [/"iss" \(issuer\) missing/, "iss_missing"],
  [/"iss" \(issuer\) response parameter/, "iss_mismatch"],
  [/"state"/, "state_mismatch"],
  // alg not allowed, alg none or HS* at signature verification, bad signature, malformed ID token
  [/JWT|JWS|ID Token|id_token/, "id_token_invalid"],
];

const CODE_REASONS: Record<string, string> = {
  OAUTH_KEY_SELECTION_FAILED: "id_token_invalid",
  OAUTH_TIMEOUT: "idp_unreachable",
  OAUTH_ABORT: "idp_unreachable",
  OAUTH_HTTP_REQUEST_FORBIDDEN: "insecure_endpoint",
  OAUTH_RESPONSE_IS_NOT_CONFORM: "idp_response_invalid",
  OAUTH_RESPONSE_IS_NOT_JSON: "idp_response_invalid",
  OAUTH_PARSE_ERROR: "idp_response_invalid",
};

/**
 * Turns what openid-client threw while checking the callback and redeeming the code into a refusal with
 * a short stable reason. Anything it does not recognise is a fault of ours and stays a 500.
 */
export function refusalOf(error: unknown): unknown {
  if (isAppError(error)) return error;
  const refuse = (reason: string) => new SsoRefused(reason, { cause: error });
  // unmet_authentication_requirements (OpenID Connect Core Error Code unmet_authentication_requirements 1.0): the acr asked for cannot be met.
  if (error instanceof oidc.AuthorizationResponseError) return refuse(error.error === "unmet_authentication_requirements" ? STEP_UP_UNAVAILABLE : "idp_error");
  if (error instanceof oidc.ResponseBodyError) return refuse(error.error === "invalid_client" ? "client_auth_failed" : "code_rejected");
  if (error instanceof oidc.WWWAuthenticateChallengeError) return refuse("client_auth_failed");
  if (isNetworkFailure(error)) return refuse("idp_unreachable");
  if (!(error instanceof oidc.ClientError)) return error;

  const cause = error.cause as { message?: unknown; cause?: { claim?: unknown } } | undefined;
  const claim = typeof cause?.cause?.claim === "string" ? cause.cause.claim : "";
  switch (error.code) {
    case JWT_CLAIM_COMPARISON:
      return refuse(CLAIM_REASONS[claim] ?? "id_token_invalid");
    case JWT_TIMESTAMP_CHECK:
      return refuse(claim === "exp" ? "id_token_expired" : "id_token_invalid");
    case INVALID_RESPONSE:
    case UNSUPPORTED_OPERATION: {
      const message = typeof cause?.message === "string" ? cause.message : "";
      return refuse(INVALID_RESPONSE_REASONS.find(([pattern]) => pattern.test(message))?.[1] ?? "idp_response_invalid");
    }
    default:
      return refuse((error.code && CODE_REASONS[error.code]) || "idp_response_invalid");
  }
}

/**
 * fetch's "fetch failed" TypeError, as thrown or as wrapped by openid-client. Compared by name, not
 * instanceof: undici's TypeError may come from another realm (as under Jest). Any other TypeError is a bug.
 */
function isNetworkFailure(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === "object" && current !== null && depth < 3; current = (current as { cause?: unknown }).cause, depth++) {
    const { name, message } = current as { name?: unknown; message?: unknown };
    if (name === "TypeError" && message === "fetch failed") return true;
  }
  return false;
}
