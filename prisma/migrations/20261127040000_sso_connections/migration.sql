-- CreateTable
CREATE TABLE "sso_connections" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "idp_entity_id" TEXT,
    "sso_url" TEXT,
    "slo_url" TEXT,
    "certificates" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "allow_idp_initiated" BOOLEAN NOT NULL DEFAULT false,
    "want_assertions_signed" BOOLEAN NOT NULL DEFAULT true,
    "issuer" TEXT,
    "client_id" TEXT,
    "client_secret_sealed" TEXT,
    "scopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "provisioning" TEXT NOT NULL DEFAULT 'pre-provisioned',
    "attribute_mapping" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sso_connections_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sso_connections_tenant_id_idx" ON "sso_connections"("tenant_id");

-- AddForeignKey
ALTER TABLE "sso_connections" ADD CONSTRAINT "sso_connections_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;
