import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { openDatabase } from "@tokenvault/db";
import { createPostgresTokenStore, StorageError } from "../src/index";
import { TestClock, testVault, tokenStoreConformance } from "./conformance";
import { storeLockConformance } from "./lock-conformance";

// The run's own database (test/global-setup.ts), migrated: the tables are the migration's.
const database = await openDatabase({ databaseUrl: inject("databaseUrl") });
const { prisma } = database;
afterAll(() => database.close());

/** Every row of the store's tables, every column, every namespace: what an operator could read. */
async function dumpTables(): Promise<string> {
  const rows = await prisma.$queryRaw<{ row: string }[]>`
    SELECT row_to_json(e)::text AS "row" FROM "TokenStoreEntry" e
    UNION ALL SELECT row_to_json(l)::text FROM "TokenStoreLock" l`;
  return rows.map((r) => r.row).join("\n");
}

tokenStoreConformance("PostgreSQL (Prisma)", ({ vault, clock, namespace }) => {
  const store = createPostgresTokenStore(prisma, { vault, clock, namespace });
  const reopen = (rotated: typeof vault) => Promise.resolve(createPostgresTokenStore(prisma, { vault: rotated, clock, namespace }));
  return Promise.resolve({ store, lock: store, dump: dumpTables, reopen });
});

storeLockConformance("PostgreSQL (Prisma)", ({ clock, namespace }) => {
  const store = createPostgresTokenStore(prisma, { vault: testVault(), clock, namespace });
  return Promise.resolve({ lock: store, close: () => store.close() });
});

const MINUTE = 60_000;
const fresh = (clock = new TestClock(), extra: { cleanupBatch?: number; namespace?: string } = {}) =>
  createPostgresTokenStore(prisma, { vault: testVault(), clock, namespace: `pg-${randomBytes(4).toString("hex")}`, ...extra });
const meta = (clock: TestClock, id: string, minutes = 10) => ({ id, subject: "svc-pg", expiresAt: new Date(clock.now().getTime() + minutes * MINUTE) });

describe("PostgresTokenStore, beyond the conformance suite", () => {
  it("moves an id to the newest token stored with it, as the Redis store does", async () => {
    const clock = new TestClock();
    const store = fresh(clock);
    await store.store("tok-a", meta(clock, "shared-id"));
    await store.store("tok-b", meta(clock, "shared-id", 20));
    expect((await store.getById("shared-id"))?.expiresAt).toEqual(meta(clock, "x", 20).expiresAt);
    expect((await store.get("tok-a"))?.id).toBe("shared-id");
    expect(await store.delete("tok-b")).toBe(true);
    expect(await store.getById("shared-id")).toBeNull();
    // Concurrent stores naming one id take turns instead of failing on the unique id index.
    await Promise.all(["c", "d", "e", "f"].map((t) => store.store(`tok-${t}`, meta(clock, "raced-id"))));
    expect(await store.getById("raced-id")).not.toBeNull();
  });

  it("never lets a store slip past a concurrent revoke", async () => {
    const clock = new TestClock();
    const store = fresh(clock);
    for (let round = 0; round < 10; round++) {
      const token = `tok-race-${round}`;
      await store.store(token, meta(clock, `race-${round}`));
      const [stored, revoked] = await Promise.allSettled([store.store(token, meta(clock, `race-${round}`)), store.revoke(token)]);
      expect(revoked).toEqual({ status: "fulfilled", value: true });
      if (stored.status === "rejected") expect((stored.reason as StorageError).code).toBe("CONFLICT");
      expect(await store.isRevoked(token)).toBe(true);
      expect(await store.get(token)).toBeNull();
      expect(await store.getById(`race-${round}`)).toBeNull();
      // delete removes entries, not revocations (as in Redis): the token stays revoked.
      expect(await store.delete(token)).toBe(false);
      expect(await store.isRevoked(token)).toBe(true);
    }
    expect(await store.list("svc-pg")).toEqual([]);
  });

  it("cleans up in bounded batches, revocations included, counting entries only", async () => {
    const clock = new TestClock();
    const namespace = `pg-cleanup-${randomBytes(4).toString("hex")}`;
    const store = fresh(clock, { cleanupBatch: 2, namespace });
    for (let i = 0; i < 5; i++) await store.store(`tok-old-${i}`, meta(clock, `old-${i}`, 1));
    await store.store("tok-revoked", meta(clock, "revoked", 1));
    await store.revoke("tok-revoked");
    await store.store("tok-live", meta(clock, "live", 60));
    clock.advance(2 * MINUTE);
    const batches: number[] = [];
    for (let i = 0; i < 4; i++) batches.push(await store.cleanup());
    expect(Math.max(...batches)).toBeLessThanOrEqual(2);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(5);
    const [{ rows }] = await prisma.$queryRaw<[{ rows: bigint }]>`
      SELECT count(*) AS "rows" FROM "TokenStoreEntry" WHERE "namespace" = ${namespace}`;
    expect(rows).toBe(1n);
    expect((await store.get("tok-live"))?.id).toBe("live");
  });

  it("reads instants the same whatever the session time zone", async () => {
    const clock = new TestClock();
    const url = new URL(inject("databaseUrl"));
    url.searchParams.set("options", "-c TimeZone=America/New_York");
    const elsewhere = await openDatabase({ databaseUrl: url.toString() });
    try {
      const namespace = `pg-tz-${randomBytes(4).toString("hex")}`;
      const vault = testVault();
      const utc = createPostgresTokenStore(prisma, { vault, clock, namespace });
      const newYork = createPostgresTokenStore(elsewhere.prisma, { vault, clock, namespace });
      await utc.store("tok-tz", meta(clock, "tz", 1));
      clock.advance(MINUTE - 1);
      expect((await newYork.get("tok-tz"))?.id).toBe("tz");
      clock.advance(1);
      expect(await newYork.get("tok-tz")).toBeNull();
    } finally {
      await elsewhere.close();
    }
  });

  it("maps a database failure to StorageError with the hashed key, and refuses bad input before any SQL", async () => {
    const unreachable = await openDatabase({ databaseUrl: "postgresql://postgres@127.0.0.1:1/none" });
    const store = createPostgresTokenStore(unreachable.prisma, { vault: testVault(), clock: new TestClock(), ownsClient: true });
    try {
      const token = `SECRET-TOKEN-${randomBytes(8).toString("hex")}`;
      const error = await store.store(token, { id: "jti-down", subject: "svc-down", expiresAt: new Date(Date.now() + MINUTE) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      const failure = error as StorageError;
      expect([failure.op, failure.code]).toEqual(["store", "UNAVAILABLE"]);
      expect(failure.key).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(`${failure.message} ${failure.detail} ${failure.key}`).not.toContain(token);
      expect(await store.get(token).catch((e: StorageError) => e.code)).toBe("UNAVAILABLE");
      expect(await store.acquire("mint", 1_000).catch((e: StorageError) => `${e.op} ${e.code}`)).toBe("lock UNAVAILABLE");
      // INVALID_INPUT, not UNAVAILABLE: the codec refused it before a connection was tried.
      expect(await store.store("", meta(new TestClock(), "bad")).catch((e: StorageError) => e.code)).toBe("INVALID_INPUT");
      expect(await store.acquire("", 1_000).catch((e: StorageError) => e.code)).toBe("INVALID_INPUT");
    } finally {
      await store.close();
    }
  });
});
