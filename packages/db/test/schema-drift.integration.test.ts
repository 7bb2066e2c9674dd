import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PGlite } from "@electric-sql/pglite";
import { pgExecutor, pgliteExecutor, withPgClient } from "../src/client";
import { applyMigrations } from "../src/migrate";
import { createEmptyDatabase, type TestDatabase } from "../src/testing";
import { shapeFromDatabase, shapeFromPrismaSchema } from "./schema-shape";

describe("schema.prisma and prisma/migrations agree", () => {
  const expected = shapeFromPrismaSchema();

  it("on an empty PostgreSQL database, migrated from scratch", async () => {
    const empty = await createEmptyDatabase("drift");
    try {
      const actual = await withPgClient(empty.url, async (client) => {
        await applyMigrations(pgExecutor(client));
        return shapeFromDatabase(pgExecutor(client));
      });
      expect(actual).toEqual(expected);
    } finally {
      await empty.drop();
    }
  });

  it("on the embedded database (PGlite), from the same migrations", async () => {
    const pglite = await PGlite.create("memory://");
    try {
      await applyMigrations(pgliteExecutor(pglite));
      expect(await shapeFromDatabase(pgliteExecutor(pglite))).toEqual(expected);
    } finally {
      await pglite.close();
    }
  });

  it("the shared test database is the migrated shape too", async () => {
    const actual = await withPgClient(inject("databaseUrl"), (client) => shapeFromDatabase(pgExecutor(client)));
    expect(actual).toEqual(expected);
  });
});

describe("the drift check notices drift", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createEmptyDatabase("drift_neg");
    await withPgClient(database.url, (client) => applyMigrations(pgExecutor(client)));
  });
  afterAll(() => database.drop());

  it.each([
    ["an extra column", `ALTER TABLE "AuditLog" ADD COLUMN "extra" TEXT`],
    ["a changed nullability", `ALTER TABLE "ConnectionHealth" ALTER COLUMN "errorMessage" SET NOT NULL`],
    ["a dropped index", `DROP INDEX "AuditLog_companyId_timestamp_id_idx"`],
    ["a changed default", `ALTER TABLE "OAuthGrant" ALTER COLUMN "version" SET DEFAULT 1`],
    ["a new enum value", `ALTER TYPE "TokenKind" ADD VALUE 'PASSWORD'`],
    ["a column type change", `ALTER TABLE "AuditLog" ALTER COLUMN "responseTime" TYPE BIGINT`],
  ])("%s", async (_label, change) => {
    await withPgClient(database.url, async (client) => {
      await client.query("BEGIN");
      try {
        await client.query(change);
        const drifted = await shapeFromDatabase(pgExecutor(client));
        expect(drifted).not.toEqual(shapeFromPrismaSchema());
      } finally {
        await client.query("ROLLBACK");
      }
    });
  });

  it("a schema edit without a migration", async () => {
    const schema = (await import("node:fs")).readFileSync(
      (await import("./schema-shape")).SCHEMA_PATH,
      "utf8",
    );
    const edited = schema.replace("errorMessage   String?\n  updatedAt", "errorMessage   String\n  updatedAt");
    expect(edited).not.toBe(schema);
    const actual = await withPgClient(database.url, (client) => shapeFromDatabase(pgExecutor(client)));
    expect(actual).toEqual(shapeFromPrismaSchema());
    expect(actual).not.toEqual(shapeFromPrismaSchema(edited));
  });
});
