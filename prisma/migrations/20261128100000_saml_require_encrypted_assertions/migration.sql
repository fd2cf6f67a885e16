-- SAML: a connection may require its IdP to encrypt every assertion; a plain one is then refused
-- (assertion_not_encrypted). Existing connections keep accepting both.
ALTER TABLE "sso_connections" ADD COLUMN "require_encrypted_assertions" BOOLEAN NOT NULL DEFAULT false;
