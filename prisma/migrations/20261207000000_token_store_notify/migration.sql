-- Tells every process's store read cache (packages/store changes/) that an entry changed: every
-- insert, update and delete of a "TokenStoreEntry" row (a store, a revoke, a delete, a cleanup)
-- sends NOTIFY "tokenvault_store" with '<namespace>:<tokenKey>' (a blind index, never a token).
-- A trigger, so the notification is part of the writing transaction (delivered at its commit,
-- never for a rolled-back write) and costs no round trip.
CREATE FUNCTION "token_store_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('tokenvault_store', OLD."namespace" || ':' || OLD."tokenKey");
        RETURN OLD;
    END IF;
    PERFORM pg_notify('tokenvault_store', NEW."namespace" || ':' || NEW."tokenKey");
    RETURN NEW;
END;
$$;

CREATE TRIGGER "TokenStoreEntry_notify"
    AFTER INSERT OR UPDATE OR DELETE ON "TokenStoreEntry"
    FOR EACH ROW EXECUTE FUNCTION "token_store_notify"();
