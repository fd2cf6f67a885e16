-- CreateEnum
CREATE TYPE "PasswordRotation" AS ENUM ('reset_required', 'change_at_next_login');

-- CreateEnum
CREATE TYPE "PasswordTokenPurpose" AS ENUM ('reset', 'invite');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "password_rotation" "PasswordRotation";

-- CreateTable
CREATE TABLE "password_tokens" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "purpose" "PasswordTokenPurpose" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "password_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rotation_campaigns" (
    "id" UUID NOT NULL,
    "all_tenants" BOOLEAN NOT NULL,
    "tenant_ids" UUID[],
    "kinds" "UserKind"[],
    "mode" "PasswordRotation" NOT NULL,
    "revoke_sessions" BOOLEAN NOT NULL,
    "notify" BOOLEAN NOT NULL,
    "reason" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "targeted" INTEGER NOT NULL DEFAULT 0,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "rotation_campaigns_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rotation_campaign_users" (
    "campaign_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "outcome" TEXT NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "notified_at" TIMESTAMPTZ(3),
    "sessions_revoked_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "rotation_campaign_users_pkey" PRIMARY KEY ("campaign_id","user_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "password_tokens_token_hash_key" ON "password_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "password_tokens_user_id_purpose_idx" ON "password_tokens"("user_id", "purpose");

-- CreateIndex
CREATE INDEX "rotation_campaigns_status_idx" ON "rotation_campaigns"("status");

-- CreateIndex
CREATE INDEX "rotation_campaign_users_user_id_idx" ON "rotation_campaign_users"("user_id");

-- AddForeignKey
ALTER TABLE "password_tokens" ADD CONSTRAINT "password_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rotation_campaign_users" ADD CONSTRAINT "rotation_campaign_users_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "rotation_campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;
