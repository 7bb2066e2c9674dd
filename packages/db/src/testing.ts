import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { pgExecutor, pgliteExecutor, withPgClient } from "./client";
import { dbEnv } from "./env";
import { applyMigrations, readMigrations, type SqlExecutor } from "./migrate";
import { APPLICATION_NAME } from "./pool";

export { createScratchRepository, type ChildRun, type ScratchRepository } from "./scratch-repository";
export { LineProcess } from "./line-process";
export { withPgClient } from "./client";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty PostgreSQL database on the server named by PG_ADMIN_URL (default: the
 * local trust-auth postgres). Every test run gets its own, so runs never see each other's rows.
 */
export async function createEmptyDatabase(label = "test"): Promise<TestDatabase> {
  const adminUrl = dbEnv().pgAdminUrl;
  const name = `tokenvault_${label}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  await withPgClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      withPgClient(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }),
  };
}

/** A fresh database with every migration applied. */
export async function createTestDatabase(label = "test"): Promise<TestDatabase> {
  const database = await createEmptyDatabase(label);
  await withPgClient(database.url, (client) => applyMigrations(pgExecutor(client)));
  return database;
}
export { TcpProxy, type ProxyMode, type TcpProxyOptions } from "./tcp-proxy";

/** The migrations up to and including `last` (a directory name under prisma/migrations). */
function migrationsThrough(last: string) {
  const all = readMigrations();
  const index = all.findIndex((m) => m.name === last);
  if (index < 0) throw new Error(`no migration named ${last}`);
  return all.slice(0, index + 1);
}

/**
 * A database as it was at migration `last`, for tests of a later migration on rows written in
 * the earlier shape: `run` gets an executor to write them (PostgreSQL: a client of `url`; the
 * embedded database: the PGlite at `dataDir`, closed afterwards). Then open it with openDatabase
 * (the embedded database applies the rest itself) or createTestDatabase-style applyMigrations.
 */
export async function populateAt(target: { url: string } | { dataDir: string }, last: string, run: (db: SqlExecutor) => Promise<void>): Promise<void> {
  const migrations = migrationsThrough(last);
  if ("url" in target) {
    await withPgClient(target.url, async (client) => {
      await applyMigrations(pgExecutor(client), migrations);
      await run(pgExecutor(client));
    });
    return;
  }
  const pglite = await PGlite.create(target.dataDir);
  try {
    await applyMigrations(pgliteExecutor(pglite), migrations);
    await run(pgliteExecutor(pglite));
  } finally {
    await pglite.close();
  }
}

/** Applies every migration not yet applied to the PostgreSQL database at `url`. */
export async function migrateToLatest(url: string): Promise<string[]> {
  return (await withPgClient(url, (client) => applyMigrations(pgExecutor(client)))).applied;
}

/**
 * Drops every connection the service holds to `databaseName` (pg_terminate_backend on the
 * backends named APPLICATION_NAME), as a failover or an administrator would. Returns how many.
 */
export async function terminateServiceBackends(databaseName: string): Promise<number> {
  return withPgClient(dbEnv().pgAdminUrl, async (client) => {
    const { rows } = await client.query<{ pid: number }>(
      // Chosen first, terminated after: in one WHERE, PostgreSQL may call pg_terminate_backend before the other tests.
      `WITH chosen AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND pid <> pg_backend_pid())
       SELECT pid FROM chosen WHERE pg_terminate_backend(pid)`,
      [databaseName, APPLICATION_NAME],
    );
    return rows.length;
  });
}
