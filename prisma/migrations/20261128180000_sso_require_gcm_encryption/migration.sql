-- SAML: a connection may accept only AES-GCM content encryption; an assertion encrypted with AES-CBC is then
-- refused before any key is used (weak_encryption_algorithm), which leaves no padding oracle to probe.
-- Existing connections keep accepting both.
ALTER TABLE "sso_connections" ADD COLUMN "require_gcm_encryption" BOOLEAN NOT NULL DEFAULT false;
