-- CreateEnum
CREATE TYPE "TokenKind" AS ENUM ('ACCESS_TOKEN', 'REFRESH_TOKEN', 'PREVIOUS_REFRESH_TOKEN', 'ID_TOKEN', 'API_KEY', 'WEBHOOK_SECRET');

-- CreateEnum
CREATE TYPE "TokenState" AS ENUM ('VALID', 'EXPIRED', 'REVOKED', 'INVALID');

-- CreateEnum
CREATE TYPE "HealthStatus" AS ENUM ('HEALTHY', 'UNHEALTHY', 'EXPIRED');

-- CreateEnum
CREATE TYPE "AuditAction" AS ENUM ('CONNECT', 'REFRESH', 'REVOKE', 'DISCONNECT', 'CHECK', 'TOKEN_READ', 'SECRET_WRITE', 'KEY_ROTATION');

-- CreateEnum
CREATE TYPE "AuditOutcome" AS ENUM ('SUCCESS', 'FAILURE');

-- CreateTable
CREATE TABLE "Connection" (
    "id" UUID NOT NULL,
    "companyId" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "externalId" TEXT NOT NULL DEFAULT '',
    "version" INTEGER NOT NULL DEFAULT 0,
    "leaseOwner" TEXT,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "cooldownUntil" TIMESTAMPTZ(3),
    "connectedBy" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Connection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TokenSecret" (
    "id" UUID NOT NULL,
    "companyId" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "kind" "TokenKind" NOT NULL,
    "externalId" TEXT NOT NULL DEFAULT '',
    "connectionId" UUID,
    "ciphertext" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3),
    "lastUsedAt" TIMESTAMPTZ(3),
    "lastRefreshedAt" TIMESTAMPTZ(3),
    "state" "TokenState" NOT NULL DEFAULT 'VALID',
    "lastError" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "TokenSecret_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" UUID NOT NULL,
    "timestamp" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "companyId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "action" "AuditAction" NOT NULL,
    "outcome" "AuditOutcome" NOT NULL,
    "connectionType" TEXT NOT NULL,
    "apiEndpoint" TEXT NOT NULL,
    "requestMethod" TEXT NOT NULL,
    "responseStatus" INTEGER NOT NULL,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "errorMessage" TEXT,
    "responseTime" INTEGER,
    "details" JSONB,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConnectionHealth" (
    "id" UUID NOT NULL,
    "companyId" TEXT NOT NULL,
    "connectionType" TEXT NOT NULL,
    "status" "HealthStatus" NOT NULL,
    "lastChecked" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "errorMessage" TEXT,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ConnectionHealth_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Connection_leaseExpiresAt_idx" ON "Connection"("leaseExpiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "Connection_companyId_provider_key" ON "Connection"("companyId", "provider");

-- CreateIndex
CREATE INDEX "TokenSecret_connectionId_idx" ON "TokenSecret"("connectionId");

-- CreateIndex
CREATE INDEX "TokenSecret_kind_expiresAt_idx" ON "TokenSecret"("kind", "expiresAt");

-- CreateIndex
CREATE INDEX "TokenSecret_keyId_idx" ON "TokenSecret"("keyId");

-- CreateIndex
CREATE UNIQUE INDEX "TokenSecret_companyId_provider_kind_externalId_key" ON "TokenSecret"("companyId", "provider", "kind", "externalId");

-- CreateIndex
CREATE INDEX "AuditLog_companyId_timestamp_id_idx" ON "AuditLog"("companyId", "timestamp" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "AuditLog_companyId_action_timestamp_idx" ON "AuditLog"("companyId", "action", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "AuditLog_companyId_connectionType_timestamp_idx" ON "AuditLog"("companyId", "connectionType", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "AuditLog_companyId_userId_timestamp_idx" ON "AuditLog"("companyId", "userId", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "ConnectionHealth_companyId_idx" ON "ConnectionHealth"("companyId");

-- CreateIndex
CREATE UNIQUE INDEX "ConnectionHealth_companyId_connectionType_key" ON "ConnectionHealth"("companyId", "connectionType");

-- AddForeignKey
ALTER TABLE "TokenSecret" ADD CONSTRAINT "TokenSecret_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Append-only audit log (hand-written: Prisma's schema language cannot express triggers).
-- UPDATE and TRUNCATE are always refused. DELETE is refused unless it runs inside
-- purge_audit_log(), the single retention path, which sets a transaction-local flag.
CREATE FUNCTION "audit_log_refuse_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('tokenvault.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'AuditLog is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "AuditLog_append_only"
    BEFORE UPDATE OR DELETE ON "AuditLog"
    FOR EACH ROW EXECUTE FUNCTION "audit_log_refuse_change"();

CREATE TRIGGER "AuditLog_no_truncate"
    BEFORE TRUNCATE ON "AuditLog"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_refuse_change"();

-- Deletes audit rows older than the given instant and returns how many were removed.
CREATE FUNCTION "purge_audit_log"(older_than TIMESTAMPTZ) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    removed BIGINT;
BEGIN
    PERFORM set_config('tokenvault.audit_purge', 'on', true);
    DELETE FROM "AuditLog" WHERE "timestamp" < older_than;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('tokenvault.audit_purge', 'off', true);
    RETURN removed;
END;
$$;
