-- SAML SP keys roll over in stages: a new key is published first ("next", activated_at null), signs (or is
-- the first encryption certificate) once activated, and the key it replaced stays published until retired.
-- The SP keys made so far have been in use since they were made. The OpenID provider's keys keep their
-- time-based schedule and leave the column null.
ALTER TABLE "signing_keys" ADD COLUMN "activated_at" TIMESTAMPTZ(3);
UPDATE "signing_keys" SET "activated_at" = "created_at" WHERE "purpose" IN ('saml-sp', 'saml-sp-encryption');
