-- Company API keys for /api/v1 (issue 25 item 5): a key is stored as its public prefix and the
-- SHA-256 of the whole key, never in clear. Creating and revoking keys, and every /api/v1 call,
-- are audited with the key's id.

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'API_KEY';

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'API_CALL';

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "companyId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "scopes" TEXT[] NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),
    "revokedBy" TEXT,

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_prefix_key" ON "ApiKey"("prefix");

-- CreateIndex
CREATE INDEX "ApiKey_companyId_createdAt_idx" ON "ApiKey"("companyId", "createdAt");
