-- Filtered audit pages page on (timestamp, id): the id must be in the index too, or each
-- page ends in a sort.

-- DropIndex
DROP INDEX "AuditLog_companyId_action_timestamp_idx";

-- DropIndex
DROP INDEX "AuditLog_companyId_connectionType_timestamp_idx";

-- DropIndex
DROP INDEX "AuditLog_companyId_userId_timestamp_idx";

-- CreateIndex
CREATE INDEX "AuditLog_companyId_action_timestamp_id_idx" ON "AuditLog"("companyId", "action", "timestamp" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "AuditLog_companyId_connectionType_timestamp_id_idx" ON "AuditLog"("companyId", "connectionType", "timestamp" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "AuditLog_companyId_userId_timestamp_id_idx" ON "AuditLog"("companyId", "userId", "timestamp" DESC, "id" DESC);
