/**
 * Every failure a client can see is an AppError with a stable `code`.
 * `expose` says whether `detail` may be shown to the caller; internal faults never expose theirs.
 */
export const ERROR_CATALOGUE = {
  bad_request: { status: 400, title: "Bad request" },
  validation_failed: { status: 400, title: "Validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON body" },
  invalid_certificate: { status: 400, title: "Invalid certificate" },
  invalid_idp_metadata: { status: 400, title: "Invalid IdP metadata" },
  oidc_discovery_failed: { status: 400, title: "OpenID Connect discovery failed" },
  unauthenticated: { status: 401, title: "Authentication required" },
  invalid_api_key: { status: 401, title: "Invalid API key" },
  sso_response_invalid: { status: 400, title: "Single sign-on response refused" },
  forbidden: { status: 403, title: "Forbidden" },
  sso_account_unavailable: { status: 403, title: "No account for this single sign-on login" },
  insufficient_scope: { status: 403, title: "Insufficient scope" },
  csrf_failed: { status: 403, title: "Invalid or missing CSRF token" },
  password_rotation_required: { status: 403, title: "Password change required" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  tenant_slug_taken: { status: 409, title: "Tenant slug already in use" },
  user_email_taken: { status: 409, title: "Email already in use in this tenant" },
  sso_connection_required: { status: 409, title: "An enabled SSO connection is required" },
  sso_not_enabled: { status: 409, title: "SSO is not enabled" },
  sso_lockout_risk: { status: 409, title: "Enforcing SSO would lock every admin out" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal_error: { status: 500, title: "Internal server error" },
  service_unavailable: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export type FieldError = { path: string; message: string };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly expose: boolean;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown; expose?: boolean } = {},
  ) {
    const entry = ERROR_CATALOGUE[code];
    super(detail ?? entry.title, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = entry.status;
    this.title = entry.title;
    this.expose = options.expose ?? entry.status < 500;
    this.errors = options.errors;
    this.headers = options.headers;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

export const notFound = (what = "Resource"): AppError => new AppError("not_found", `${what} not found`);
