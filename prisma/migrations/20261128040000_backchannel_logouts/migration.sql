-- CreateTable
CREATE TABLE "backchannel_logouts" (
    "id" UUID NOT NULL,
    "client_id" TEXT NOT NULL,
    "sub" TEXT NOT NULL,
    "sid" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locked_until" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "backchannel_logouts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "backchannel_logouts_status_next_attempt_at_idx" ON "backchannel_logouts"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "backchannel_logouts_status_locked_until_idx" ON "backchannel_logouts"("status", "locked_until");
