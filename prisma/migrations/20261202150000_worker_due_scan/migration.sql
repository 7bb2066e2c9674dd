-- The worker's due-connection scan (issue 14): each reason it looks for is an index range.
CREATE INDEX "Connection_incident_idx" ON "Connection"("incident");
CREATE INDEX "Connection_metadata_idx" ON "Connection" USING GIN ("metadata");
CREATE INDEX "TokenSecret_kind_lastRefreshedAt_idx" ON "TokenSecret"("kind", "lastRefreshedAt");
CREATE INDEX "TokenSecret_kind_state_idx" ON "TokenSecret"("kind", "state");
