-- Ending sign-in sessions (sign-out, "end this session", "end all", an admin ending a member's) is audited.

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'SESSION_END';
