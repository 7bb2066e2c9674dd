-- Wakes processes waiting on a connection (packages/token refresh/connection-events.ts): every
-- change of a connection's version (a token set written, a reconnect, a token marked invalid),
-- every lease given back and every removal sends NOTIFY "tokenvault_connection" with
-- '<id>:<version>' ('<id>:deleted'). A trigger, so the notification is part of the writing
-- transaction (delivered at its commit, never for a rolled-back write) and costs no round trip.
CREATE FUNCTION "connection_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('tokenvault_connection', OLD."id"::text || ':deleted');
        RETURN OLD;
    END IF;
    IF NEW."version" IS DISTINCT FROM OLD."version"
       OR (OLD."leaseOwner" IS NOT NULL AND NEW."leaseOwner" IS NULL) THEN
        PERFORM pg_notify('tokenvault_connection', NEW."id"::text || ':' || NEW."version");
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER "Connection_notify"
    AFTER UPDATE OR DELETE ON "Connection"
    FOR EACH ROW EXECUTE FUNCTION "connection_notify"();
