-- The background worker's view of each connection (issue 14): the failure streak counted in
-- calendar days, exhaustion, the incident already notified, and the hard-expiry warning sent.

-- AlterTable
ALTER TABLE "Connection" ADD COLUMN     "refreshFailureDays" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "lastFailureDay" TEXT,
ADD COLUMN     "exhaustedAt" TIMESTAMPTZ(3),
ADD COLUMN     "incident" TEXT,
ADD COLUMN     "incidentAt" TIMESTAMPTZ(3),
ADD COLUMN     "horizonWarning" TEXT;
