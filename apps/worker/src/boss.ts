import type { PGlite } from "@electric-sql/pglite";
import PgBoss from "pg-boss";

/** The queues this worker owns. */
export const QUEUES = {
  scan: "tokenvault-scan",
  refresh: "tokenvault-refresh",
  webhook: "tokenvault-webhook",
  companyWebhook: "tokenvault-company-webhook",
  housekeeping: "tokenvault-housekeeping",
  revocations: "tokenvault-revocations",
} as const;

/** Where pg-boss keeps its jobs: the app's own PostgreSQL (a URL) or its embedded PGlite database. */
export type BossTarget = { connectionString: string } | { pglite: PGlite };

/**
 * pg-boss on the app's database. On PGlite (one connection, in this process) pg-boss runs
 * through its `db` option: statements without parameters (its schema scripts hold several) go
 * through exec, the others through query; PGlite serializes them with the app's own queries.
 */
export function createBoss(target: BossTarget, options: { maintenanceIntervalSeconds?: number } = {}): PgBoss {
  const maintenance = options.maintenanceIntervalSeconds !== undefined ? { maintenanceIntervalSeconds: options.maintenanceIntervalSeconds } : {};
  const common = { application_name: "tokenvault-worker", schema: "pgboss", supervise: true, schedule: true, migrate: true, ...maintenance };
  if ("connectionString" in target) return new PgBoss({ ...common, connectionString: target.connectionString, max: 4 });
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
  return new PgBoss({ ...common, db });
}
