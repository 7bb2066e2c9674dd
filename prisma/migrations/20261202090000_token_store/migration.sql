-- The PostgreSQL token store (@tokenvault/store): entries and revocations in one table (one row
-- per blind-indexed token), and the store's named locks.

-- CreateTable
CREATE TABLE "TokenStoreEntry" (
    "namespace" TEXT NOT NULL,
    "tokenKey" TEXT NOT NULL,
    "subjectKey" TEXT,
    "idKey" TEXT,
    "sealed" TEXT,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "revoked" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "TokenStoreEntry_pkey" PRIMARY KEY ("namespace","tokenKey")
);

-- CreateTable
CREATE TABLE "TokenStoreLock" (
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "TokenStoreLock_pkey" PRIMARY KEY ("namespace","name")
);

-- CreateIndex
CREATE INDEX "TokenStoreEntry_namespace_subjectKey_expiresAt_idx" ON "TokenStoreEntry"("namespace", "subjectKey", "expiresAt");

-- CreateIndex
CREATE INDEX "TokenStoreEntry_namespace_expiresAt_idx" ON "TokenStoreEntry"("namespace", "expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "TokenStoreEntry_namespace_idKey_key" ON "TokenStoreEntry"("namespace", "idKey");
