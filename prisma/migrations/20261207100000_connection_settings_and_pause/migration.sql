-- Connection settings and pause (issue 24 items 5, 6, 7): an admin's name, tags and metadata per
-- connection, the scopes asked for and granted, and pausing without deleting (disabledAt).

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'DISABLE';

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'ENABLE';

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'UPDATE';

-- AlterTable
ALTER TABLE "Connection" ADD COLUMN     "customName" TEXT,
ADD COLUMN     "disabledAt" TIMESTAMPTZ(3),
ADD COLUMN     "disabledBy" TEXT,
ADD COLUMN     "grantedScopes" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "metadata" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "requestedScopes" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "tags" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];

-- Pausing or resuming changes what a read of the connection answers: it is told on the connection
-- channel like a re-pointed grant, so every process's token cache drops what it holds for it
-- (tokens/token-cache.ts) and the next read meets CONNECTION_DISABLED (or the token again).
CREATE OR REPLACE FUNCTION "connection_scope_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN row := OLD; ELSE row := NEW; END IF;
    IF TG_OP = 'UPDATE' AND NEW."grantId" IS NOT DISTINCT FROM OLD."grantId" AND NEW."externalId" IS NOT DISTINCT FROM OLD."externalId"
       AND NEW."disabledAt" IS NOT DISTINCT FROM OLD."disabledAt" THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM "Connection" WHERE "companyId" = NEW."companyId" AND "provider" = NEW."provider" AND "id" <> NEW."id") THEN
            RETURN NEW;
        END IF;
    ELSE
        PERFORM pg_notify('tokenvault_connection', row."id"::text || ':connection');
    END IF;
    PERFORM pg_notify('tokenvault_connection', md5(row."companyId" || '/' || row."provider") || ':connection');
    RETURN row;
END;
$$;
