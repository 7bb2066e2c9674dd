-- Connections v2 (issue 24): the grant (the token set, refreshed once) apart from what it
-- reaches (a connection: a QuickBooks realm, one Xero organisation, a generic account), many
-- connections per company and provider.
--
-- Every existing "Connection" row becomes a grant with the same id (its lease, version, failure
-- days, incident and secrets stay as they are: "TokenSecret"."connectionId" is renamed "grantId"
-- and keeps pointing at it), and one connection, again with the same id, for the realm or tenant
-- it used: worker jobs, webhook deliveries and audit rows that name the connection id stay true.
-- Sealed secrets are bound (AAD) to their row's (companyId, provider, kind, externalId), which a
-- migration cannot re-seal: the old rows keep their externalId, and the grant remembers it in
-- "secretExternalId". New grants seal under their own id, so two grants of one provider in one
-- company never share a binding (nor a TokenSecret unique key).

-- The old table becomes the grant table; its indexes and constraints take the new name.
ALTER TABLE "Connection" RENAME TO "OAuthGrant";
ALTER TABLE "OAuthGrant" RENAME CONSTRAINT "Connection_pkey" TO "OAuthGrant_pkey";
ALTER INDEX "Connection_leaseExpiresAt_idx" RENAME TO "OAuthGrant_leaseExpiresAt_idx";
ALTER INDEX "Connection_incident_idx" RENAME TO "OAuthGrant_incident_idx";
ALTER INDEX "Connection_metadata_idx" RENAME TO "OAuthGrant_metadata_idx";
ALTER TRIGGER "Connection_notify" ON "OAuthGrant" RENAME TO "OAuthGrant_notify";
DROP INDEX "Connection_companyId_provider_key";
ALTER TABLE "OAuthGrant" RENAME COLUMN "externalId" TO "secretExternalId";
CREATE INDEX "OAuthGrant_companyId_provider_idx" ON "OAuthGrant"("companyId", "provider");

ALTER TABLE "TokenSecret" RENAME COLUMN "connectionId" TO "grantId";
ALTER TABLE "TokenSecret" RENAME CONSTRAINT "TokenSecret_connectionId_fkey" TO "TokenSecret_grantId_fkey";
ALTER INDEX "TokenSecret_connectionId_idx" RENAME TO "TokenSecret_grantId_idx";

-- The key-rotation notification names the grant now (the trigger's WHEN follows the rename by
-- itself; the function body is text and is replaced).
CREATE OR REPLACE FUNCTION "token_secret_rekey_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tokenvault_connection', NEW."grantId"::text || ':rekeyed');
    RETURN NEW;
END;
$$;

-- CreateTable
CREATE TABLE "Connection" (
    "id" UUID NOT NULL,
    "companyId" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "grantId" UUID NOT NULL,
    "externalId" TEXT NOT NULL DEFAULT '',
    "displayName" TEXT NOT NULL DEFAULT '',
    "connectedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Connection_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "Connection_companyId_provider_externalId_key" ON "Connection"("companyId", "provider", "externalId");
CREATE INDEX "Connection_grantId_idx" ON "Connection"("grantId");
ALTER TABLE "Connection" ADD CONSTRAINT "Connection_grantId_fkey" FOREIGN KEY ("grantId") REFERENCES "OAuthGrant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- One connection per existing grant, same id; its name from the Xero tenant list when it is there.
INSERT INTO "Connection" ("id", "companyId", "provider", "grantId", "externalId", "displayName", "connectedBy", "createdAt", "updatedAt")
SELECT g."id", g."companyId", g."provider", g."id", g."secretExternalId",
       COALESCE((SELECT t->>'name' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(g."metadata"->'tenants') = 'array' THEN g."metadata"->'tenants' ELSE '[]'::jsonb END) t
                  WHERE t->>'id' = g."secretExternalId" LIMIT 1), ''),
       g."connectedBy", g."createdAt", g."updatedAt"
  FROM "OAuthGrant" g;

-- A change of what a company reaches is told on the connection channel (packages/token
-- tokens/token-cache.ts drops what it cached for either id): '<connection id>:connection' when a
-- connection is re-pointed to another grant or removed, and '<scope>:connection', scope =
-- md5(companyId || '/' || provider), for reads that named only the company and provider, also when
-- a connection is added beside others (such a read may now be ambiguous). The first connection of
-- a provider tells nobody: no process can have cached a read that found none.
CREATE FUNCTION "connection_scope_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN row := OLD; ELSE row := NEW; END IF;
    IF TG_OP = 'UPDATE' AND NEW."grantId" IS NOT DISTINCT FROM OLD."grantId" AND NEW."externalId" IS NOT DISTINCT FROM OLD."externalId" THEN
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

CREATE TRIGGER "Connection_scope_notify"
    AFTER INSERT OR UPDATE OR DELETE ON "Connection"
    FOR EACH ROW EXECUTE FUNCTION "connection_scope_notify"();

-- Health per connection: existing rows take the connection of their company and provider
-- (there was at most one); a row whose connection is gone is dropped.
ALTER TABLE "ConnectionHealth" ADD COLUMN "connectionId" UUID;
UPDATE "ConnectionHealth" h SET "connectionId" = c."id"
  FROM "Connection" c WHERE c."companyId" = h."companyId" AND c."provider" = h."connectionType";
DELETE FROM "ConnectionHealth" WHERE "connectionId" IS NULL;
ALTER TABLE "ConnectionHealth" ALTER COLUMN "connectionId" SET NOT NULL;
DROP INDEX "ConnectionHealth_companyId_connectionType_key";
CREATE UNIQUE INDEX "ConnectionHealth_connectionId_key" ON "ConnectionHealth"("connectionId");
ALTER TABLE "ConnectionHealth" ADD CONSTRAINT "ConnectionHealth_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The audit log names the connection from now on; older rows keep connectionType only (the
-- table is append-only: adding a nullable column rewrites no row).
ALTER TABLE "AuditLog" ADD COLUMN "connectionId" UUID;
CREATE INDEX "AuditLog_companyId_connectionId_timestamp_id_idx" ON "AuditLog"("companyId", "connectionId", "timestamp" DESC, "id" DESC);
