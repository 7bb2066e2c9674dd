-- Exporting the audit log is itself audited.

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'EXPORT';
