-- Key rotation re-encrypts TokenSecret rows without touching their Connection (it must not move
-- the version: that would fence out a refresh in flight and lose a rotated refresh token). The
-- token cache (packages/token tokens/token-cache.ts) is still told, on the same channel as the
-- "Connection_notify" trigger: a grant secret moved to another key sends '<connectionId>:rekeyed'
-- (identical payloads are sent once per transaction). Refreshes write under the current key, so
-- they rarely fire this; they notify through the version anyway.
CREATE FUNCTION "token_secret_rekey_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tokenvault_connection', NEW."connectionId"::text || ':rekeyed');
    RETURN NEW;
END;
$$;

CREATE TRIGGER "TokenSecret_rekey_notify"
    AFTER UPDATE ON "TokenSecret"
    FOR EACH ROW
    WHEN (NEW."connectionId" IS NOT NULL AND NEW."keyId" IS DISTINCT FROM OLD."keyId")
    EXECUTE FUNCTION "token_secret_rekey_notify"();
