-- Importing tokens issued elsewhere (issue 24 item 4): an IMPORT audit action, and on each
-- imported grant the blind index of the refresh token it was imported with, unique, so the same
-- record imported twice (or by two processes at once) becomes one grant.

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'IMPORT';

-- AlterTable
ALTER TABLE "OAuthGrant" ADD COLUMN     "importFingerprint" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "OAuthGrant_importFingerprint_key" ON "OAuthGrant"("importFingerprint");
