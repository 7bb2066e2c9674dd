-- CreateTable
CREATE TABLE "ProviderCallLease" (
    "bucket" TEXT NOT NULL,
    "member" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ProviderCallLease_pkey" PRIMARY KEY ("bucket","member")
);

-- CreateIndex
CREATE INDEX "ProviderCallLease_bucket_expiresAt_idx" ON "ProviderCallLease"("bucket", "expiresAt");
