-- Per-connection requested scopes (issue 24 item 5): the scopes one consent asks for (the
-- provider's configured ones plus the extras an admin chose) travel with its one-time state, so
-- the callback records exactly what was asked. A state issued before this column has none: the
-- callback then records the provider's configured scopes, as before.

-- AlterTable
ALTER TABLE "OAuthState" ADD COLUMN     "requestedScopes" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
