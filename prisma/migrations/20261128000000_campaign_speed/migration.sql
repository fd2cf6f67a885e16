-- Keyset cursor of a rotation campaign: the id of the last user its batches have passed. Each batch
-- reads the users after it (an index range scan on users' primary key) and moves it forward in the
-- batch's own transaction, so a resumed worker starts exactly where the last committed batch ended.
ALTER TABLE "rotation_campaigns" ADD COLUMN "last_user_id" UUID;

-- Mail already delivered keeps no body at rest (it may hold a reset link); the sender now clears it on
-- sending, this clears the rows sent before.
UPDATE "mail_outbox" SET "text" = '', "html" = NULL WHERE "status" = 'sent' AND ("text" <> '' OR "html" IS NOT NULL);
