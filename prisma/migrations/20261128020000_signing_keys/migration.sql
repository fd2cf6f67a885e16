-- Keys this service signs with: the SAML service provider's key now, the OpenID provider's keys later.
-- The private key is sealed with SecretBox; retired keys stay (verifiers may still hold their certificate).
CREATE TABLE "signing_keys" (
    "id" UUID NOT NULL,
    "purpose" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "public_key_pem" TEXT NOT NULL,
    "certificate_pem" TEXT,
    "private_key_sealed" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retired_at" TIMESTAMPTZ(3),

    CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("id")
);

-- The current key of a purpose: the newest one not retired.
CREATE INDEX "signing_keys_purpose_created_at_idx" ON "signing_keys"("purpose", "created_at");
