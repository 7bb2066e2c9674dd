import { randomBytes } from "node:crypto";
import { pgExecutor, withPgClient } from "./client";
import { dbEnv } from "./env";
import { applyMigrations } from "./migrate";

export { createScratchRepository, type ChildRun, type ScratchRepository } from "./scratch-repository";
export { LineProcess } from "./line-process";

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
