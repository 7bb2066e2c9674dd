import { afterEach, describe, expect, it } from "vitest";
import { PGlite } from "@electric-sql/pglite";
import { pgExecutor, pgliteExecutor, withPgClient } from "../src/client";
import { applyMigrations, MigrationError, readMigrations, type Migration } from "../src/migrate";
import { createEmptyDatabase, type TestDatabase } from "../src/testing";
import { createHash } from "node:crypto";

const checksum = (sql: string) => createHash("sha256").update(sql).digest("hex");
const migration = (name: string, sql: string): Migration => ({ name, sql, checksum: checksum(sql) });

describe("the offline migration applier", () => {
  const databases: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createEmptyDatabase("migrate");
    databases.push(db);
    return db;
  };
  afterEach(async () => {
    await Promise.all(databases.splice(0).map((d) => d.drop()));
  });

  it("records migrations in _prisma_migrations the way Prisma does", async () => {
    const db = await fresh();
    const rows = await withPgClient(db.url, async (client) => {
      const result = await applyMigrations(pgExecutor(client));
      expect(result.applied).toEqual(readMigrations().map((m) => m.name));
      return (await client.query(`SELECT * FROM "_prisma_migrations" ORDER BY started_at`)).rows as Record<string, unknown>[];
    });
    const files = readMigrations();
    expect(rows).toHaveLength(files.length);
    rows.forEach((row, i) => {
      expect(row.migration_name).toBe(files[i]?.name);
      expect(row.checksum).toBe(files[i]?.checksum);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.started_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
      expect(row.rolled_back_at).toBeNull();
    });
  });

  it("is idempotent and safe to run concurrently", async () => {
    const db = await fresh();
    const results = await Promise.all(
      [1, 2, 3].map(() => withPgClient(db.url, (client) => applyMigrations(pgExecutor(client)))),
    );
    const appliedCounts = results.map((r) => r.applied.length).sort();
    expect(appliedCounts).toEqual([0, 0, readMigrations().length]);
    const again = await withPgClient(db.url, (client) => applyMigrations(pgExecutor(client)));
    expect(again.applied).toEqual([]);
  });

  it("refuses a migration edited after it was applied", async () => {
    const db = await fresh();
    await withPgClient(db.url, async (client) => {
      await applyMigrations(pgExecutor(client), [migration("001_a", "CREATE TABLE a (id int);")]);
      await expect(
        applyMigrations(pgExecutor(client), [migration("001_a", "CREATE TABLE a (id bigint);")]),
      ).rejects.toThrow(/edited after it was applied/);
    });
  });

  it("rolls back a failing migration, records the failure and stops there", async () => {
    const db = await fresh();
    await withPgClient(db.url, async (client) => {
      const broken = migration("001_broken", "CREATE TABLE half (id int); SELECT * FROM missing_table;");
      await expect(applyMigrations(pgExecutor(client), [broken])).rejects.toBeInstanceOf(MigrationError);
      const half = await client.query<{ t: string | null }>(`SELECT to_regclass('half') AS t`);
      expect(half.rows[0]?.t).toBeNull();
      const logged = await client.query<{ logs: string; finished_at: Date | null }>(
        `SELECT logs, finished_at FROM "_prisma_migrations"`,
      );
      expect(logged.rows[0]?.finished_at).toBeNull();
      expect(logged.rows[0]?.logs).toMatch(/missing_table/);
      await expect(
        applyMigrations(pgExecutor(client), [broken, migration("002_next", "CREATE TABLE b (id int);")]),
      ).rejects.toThrow(/failed earlier/);
    });
  });

  it("refuses a database that is ahead of the checkout", async () => {
    const db = await fresh();
    await withPgClient(db.url, async (client) => {
      await applyMigrations(pgExecutor(client), [migration("001_a", "SELECT 1;"), migration("002_b", "SELECT 2;")]);
      await expect(applyMigrations(pgExecutor(client), [migration("001_a", "SELECT 1;")])).rejects.toThrow(/lacks: 002_b/);
    });
  });

  it("migrates the embedded database with the same files", async () => {
    const pglite = await PGlite.create("memory://");
    try {
      const result = await applyMigrations(pgliteExecutor(pglite));
      expect(result.applied).toEqual(readMigrations().map((m) => m.name));
      const tables = await pglite.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('AuditLog','TokenSecret','ConnectionHealth','Connection')`,
      );
      expect(tables.rows[0]?.n).toBe(4);
    } finally {
      await pglite.close();
    }
  });
});
