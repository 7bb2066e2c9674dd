-- CreateTable
CREATE TABLE "ProviderCallLease" (
    "bucket" TEXT NOT NULL,
    "member" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ProviderCallLease_pkey" PRIMARY KEY ("bucket","member")
);

-- CreateIndex
CREATE INDEX "ProviderCallLease_bucket_expiresAt_idx" ON "ProviderCallLease"("bucket", "expiresAt");

-- One take of a call slot (packages/token/src/provider-calls/limits/slot-store.ts), in one
-- round trip: serialized per tenant (and per app budget) by advisory locks held to the end of
-- the statement's transaction, timed by the database clock. Returns {k, left per budget...}
-- when k calls (p_id:1 .. p_id:k) were admitted, else {0, ms to wait}. The rate arrays list the tenant's budgets, then the app's;
-- p_app_locks the app budgets' keys, locked after the tenant's.
CREATE FUNCTION "provider_call_take"(
    p_waiters TEXT, p_holders TEXT, p_id TEXT, p_count INTEGER, p_concurrency INTEGER, p_lease_ms INTEGER, p_ttl_ms INTEGER,
    p_rate_keys TEXT[], p_points INTEGER[], p_windows INTEGER[], p_app_locks TEXT[], p_poll_ms INTEGER
) RETURNS INTEGER[] LANGUAGE plpgsql AS $$
DECLARE
    v_now TIMESTAMPTZ(3);
    v_rank INTEGER;
    v_free INTEGER;
    v_wait INTEGER := 0;
    v_used INTEGER;
    v_oldest TIMESTAMPTZ(3);
    v_left INTEGER[] := '{}';
    v_key TEXT;
    v_askers INTEGER;
    v_k INTEGER;
    i INTEGER;
    j INTEGER;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_waiters, 0));
    FOREACH v_key IN ARRAY p_app_locks LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(v_key, 0));
    END LOOP;
    v_now := clock_timestamp();
    DELETE FROM "ProviderCallLease" WHERE "bucket" IN (p_waiters, p_holders) AND "expiresAt" <= v_now;
    DELETE FROM "ProviderCallLease" WHERE "bucket" = ANY(p_rate_keys) AND "expiresAt" <= v_now;
    INSERT INTO "ProviderCallLease" ("bucket", "member", "at", "expiresAt")
        VALUES (p_waiters, p_id, v_now, v_now + make_interval(secs => p_ttl_ms / 1000.0))
        ON CONFLICT ("bucket", "member") DO UPDATE SET "expiresAt" = EXCLUDED."expiresAt";
    SELECT count(*) INTO v_rank FROM "ProviderCallLease" w, "ProviderCallLease" m
        WHERE w."bucket" = p_waiters AND m."bucket" = p_waiters AND m."member" = p_id AND (w."at", w."member") < (m."at", m."member");
    SELECT p_concurrency - count(*) INTO v_free FROM "ProviderCallLease" WHERE "bucket" = p_holders;
    IF v_free <= 0 THEN v_wait := p_poll_ms; END IF;
    FOR i IN 1 .. coalesce(array_length(p_rate_keys, 1), 0) LOOP
        SELECT count(*), min("at") INTO v_used, v_oldest FROM "ProviderCallLease" WHERE "bucket" = p_rate_keys[i];
        v_left := v_left || (p_points[i] - v_used);
        v_free := least(v_free, p_points[i] - v_used);
        IF p_points[i] - v_used <= 0 AND v_oldest IS NOT NULL THEN
            v_wait := greatest(v_wait, (extract(epoch FROM (v_oldest - v_now)) * 1000)::INTEGER + p_windows[i] + 1);
        END IF;
    END LOOP;
    SELECT count(*) INTO v_askers FROM "ProviderCallLease" WHERE "bucket" = p_waiters;
    v_k := least(p_count, v_free - v_rank, ceil(v_free::NUMERIC / v_askers)::INTEGER);
    IF v_k < 1 THEN
        RETURN ARRAY[0, greatest(v_wait, p_poll_ms)];
    END IF;
    DELETE FROM "ProviderCallLease" WHERE "bucket" = p_waiters AND "member" = p_id;
    FOR j IN 1 .. v_k LOOP
        INSERT INTO "ProviderCallLease" ("bucket", "member", "at", "expiresAt")
            VALUES (p_holders, p_id || ':' || j, v_now, v_now + make_interval(secs => p_lease_ms / 1000.0));
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(p_rate_keys, 1), 0) LOOP
        FOR j IN 1 .. v_k LOOP
            INSERT INTO "ProviderCallLease" ("bucket", "member", "at", "expiresAt")
                VALUES (p_rate_keys[i], p_id || ':' || j, v_now, v_now + make_interval(secs => p_windows[i] / 1000.0));
        END LOOP;
        v_left[i] := v_left[i] - v_k;
    END LOOP;
    RETURN ARRAY[v_k] || v_left;
END;
$$;
