-- A user's account at a tenant's identity provider: keyed by (connection, NameID or OIDC sub), never by email.
CREATE TABLE "external_identities" (
    "id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_login_at" TIMESTAMPTZ(3),

    CONSTRAINT "external_identities_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "external_identities_connection_id_subject_key" ON "external_identities"("connection_id", "subject");
-- One account per user at each identity provider: a second subject cannot take over a linked user.
CREATE UNIQUE INDEX "external_identities_connection_id_user_id_key" ON "external_identities"("connection_id", "user_id");
CREATE INDEX "external_identities_user_id_idx" ON "external_identities"("user_id");

ALTER TABLE "external_identities" ADD CONSTRAINT "external_identities_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "sso_connections"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "external_identities" ADD CONSTRAINT "external_identities_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Health: the last login that went through a connection.
ALTER TABLE "sso_connections" ADD COLUMN "last_login_at" TIMESTAMPTZ(3);

-- Tenants may ask for the local TOTP on top of an SSO login.
ALTER TABLE "tenants" ADD COLUMN "require_local_mfa_for_sso" BOOLEAN NOT NULL DEFAULT false;

-- Certificate-expiry warnings already given: one row per certificate and threshold (30, 7, 1 days).
CREATE TABLE "sso_certificate_alerts" (
    "connection_id" UUID NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "days_before" INTEGER NOT NULL,
    "sent_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sso_certificate_alerts_pkey" PRIMARY KEY ("connection_id", "fingerprint", "days_before")
);

ALTER TABLE "sso_certificate_alerts" ADD CONSTRAINT "sso_certificate_alerts_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "sso_connections"("id") ON DELETE CASCADE ON UPDATE CASCADE;
