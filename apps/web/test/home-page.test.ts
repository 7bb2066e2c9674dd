import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { readMigrations } from "@tokenvault/db/migrate";
import { startProductionServer, type RunningServer } from "./next-server";

describe("home page on the production build", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("serves on the embedded database, migrated at start, when DATABASE_URL is unset", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "tokenvault-pglite-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const server: RunningServer = await startProductionServer({ DATABASE_URL: undefined, PGLITE_DATA_DIR: dataDir });
    cleanups.push(() => server.stop());

    const response = await fetch(server.url);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain("Embedded (PGlite)");
    expect(html).toContain(`data-testid="migrations-applied">${readMigrations().length}<`);
    // The database was created on disk in the folder the variable names.
    expect((await stat(join(dataDir, "PG_VERSION"))).isFile()).toBe(true);
  });

  it("serves on PostgreSQL through DATABASE_URL (migrated by `pnpm db:migrate`, not at start)", async () => {
    const database: TestDatabase = await createTestDatabase("web");
    cleanups.push(() => database.drop());
    const server = await startProductionServer({ DATABASE_URL: database.url });
    cleanups.push(() => server.stop());

    const html = await (await fetch(server.url)).text();
    expect(html).toContain("PostgreSQL");
    expect(html).not.toContain("Embedded (PGlite)");
    expect(html).toContain(`data-testid="migrations-applied">${readMigrations().length}<`);
  });
});
