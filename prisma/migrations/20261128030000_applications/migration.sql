-- Product apps that log in through the OpenID provider (/oidc): one OAuth client each. The client secret is
-- stored as its SHA-256 only; tenant_ids empty means every tenant.
CREATE TABLE "applications" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "client_secret_hash" TEXT NOT NULL,
    "token_endpoint_auth_method" TEXT NOT NULL DEFAULT 'client_secret_basic',
    "redirect_uris" TEXT[],
    "post_logout_redirect_uris" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "backchannel_logout_uri" TEXT,
    "tenant_ids" UUID[] DEFAULT ARRAY[]::UUID[],
    "first_party" BOOLEAN NOT NULL DEFAULT true,
    "refresh_tokens" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "applications_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "applications_client_id_key" ON "applications"("client_id");
