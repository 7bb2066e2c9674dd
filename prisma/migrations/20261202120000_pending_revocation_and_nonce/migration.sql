-- AlterTable
ALTER TABLE "OAuthState" ADD COLUMN "nonceHash" TEXT;

-- CreateTable
CREATE TABLE "PendingRevocation" (
    "id" UUID NOT NULL,
    "companyId" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "externalId" TEXT NOT NULL DEFAULT '',
    "sealed" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "tenantIds" JSONB,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "PendingRevocation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PendingRevocation_nextAttemptAt_idx" ON "PendingRevocation"("nextAttemptAt");

-- CreateIndex
CREATE INDEX "PendingRevocation_keyId_idx" ON "PendingRevocation"("keyId");
