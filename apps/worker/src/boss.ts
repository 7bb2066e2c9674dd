import type { PGlite } from "@electric-sql/pglite";
import PgBoss from "pg-boss";
import { dbEnv, type PoolSettings } from "@tokenvault/db";
import type { Logger } from "@tokenvault/token";
import { BossDatabase } from "./boss-database";

/** The queues this worker owns. */
export const QUEUES = {
  scan: "tokenvault-scan",
  refresh: "tokenvault-refresh",
  webhook: "tokenvault-webhook",
  companyWebhook: "tokenvault-company-webhook",
  housekeeping: "tokenvault-housekeeping",
  revocations: "tokenvault-revocations",
} as const;

/**
 * Where pg-boss keeps its jobs: the app's own PostgreSQL (a URL; `pool`: its bounds, by default
 * DATABASE_CONNECT_TIMEOUT_MS / DATABASE_QUERY_TIMEOUT_MS and 4 connections) or its embedded PGlite database.
 */
export type BossTarget = { connectionString: string; pool?: PoolSettings } | { pglite: PGlite };

/** pg-boss and, on PostgreSQL, the pool it runs on (pg-boss does not close a pool it was given). */
export interface Boss {
  boss: PgBoss;
  database: BossDatabase | null;
}

/**
 * pg-boss on the app's database, always through its `db` option. On PostgreSQL that is a bounded
 * pool (boss-database.ts). On PGlite (one connection, in this process) statements without
 * parameters (its schema scripts hold several) go through exec, the others through query;
 * PGlite serializes them with the app's own queries.
 * The cron monitor looks at the schedules every 5 s (pg-boss: 30 s), so a scan due at a minute's
 * start is sent within seconds of it, also right after the database comes back.
 */
export function createBoss(target: BossTarget, options: { maintenanceIntervalSeconds?: number; logger: Logger }): Boss {
  const maintenance = options.maintenanceIntervalSeconds !== undefined ? { maintenanceIntervalSeconds: options.maintenanceIntervalSeconds } : {};
  const common = { schema: "pgboss", supervise: true, schedule: true, migrate: true, cronMonitorIntervalSeconds: 5, cronWorkerIntervalSeconds: 2, ...maintenance };
  if ("connectionString" in target) {
    const database = new BossDatabase(target.connectionString, target.pool ?? { ...dbEnv().pool, max: 4 }, options.logger);
    return { boss: new PgBoss({ ...common, db: database }), database };
  }
  const { pglite } = target;
  const db: PgBoss.Db = {
    async executeSql(text: string, values: unknown[] = []) {
      if (values.length === 0) {
        const results = await pglite.exec(text);
        return { rows: results.at(-1)?.rows ?? [] };
      }
      return { rows: (await pglite.query(text, values)).rows };
    },
  };
  return { boss: new PgBoss({ ...common, db }), database: null };
}
