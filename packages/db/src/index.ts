export { openDatabase, type Database, type DatabaseOptions } from "./client";
export { APPLICATION_NAME, createPool, isDatabaseUnavailable, type PoolSettings } from "./pool";
export { dbEnv, resetDbEnvCacheForTests } from "./env";
export { runtimeMode, type DatabaseKind, type RuntimeMode, type RuntimeModeName } from "./runtime-mode";
export { loadOrCreateDevSecret, loadRootEnvFile, repoRoot } from "./paths";
export * from "./generated/prisma/client";

import { openDatabase, type Database } from "./client";

/**
 * The process-wide database, opened on first use. Kept on globalThis so Next.js dev-mode
 * module reloads reuse one connection pool (and one embedded database) instead of leaking them.
 */
const globalForDb = globalThis as unknown as { tokenvaultDb?: Promise<Database> };

export function getDatabase(): Promise<Database> {
  globalForDb.tokenvaultDb ??= openDatabase();
  return globalForDb.tokenvaultDb;
}

/** Closes the process-wide database if it was opened (at shutdown, after what writes to it). */
export async function closeDatabase(): Promise<void> {
  const opening = globalForDb.tokenvaultDb;
  if (!opening) return;
  globalForDb.tokenvaultDb = undefined;
  const database = await opening.catch(() => undefined);
  await database?.close();
}
