import type pg from "pg";
import type PgBoss from "pg-boss";
import { createPool, isDatabaseUnavailable, type PoolSettings } from "@tokenvault/db";
import type { Logger } from "@tokenvault/token";

/**
 * pg-boss's connection to PostgreSQL: the project's bounded pool (connect timeout, statement and
 * query timeouts, TCP keep-alive) instead of pg-boss's own, which has none. pg-boss's loops (job
 * fetches, the cron monitor, maintenance) each await one query at a time and skip their turn
 * while one is in flight: a query on a connection that went silent would hold its loop for good.
 * Bounded, it fails, the pool drops that connection, and the next turn runs on a fresh one.
 *
 * It also notices when the database is lost and regained (any query failing as unavailable, then
 * any succeeding) and logs each change once: pg-boss's loops poll every few seconds, so they
 * are the heartbeat.
 */
export class BossDatabase implements PgBoss.Db {
  private readonly pool: pg.Pool;
  private unreachableSince: number | null = null;
  /** When the state last changed: only a query sent after that may change it again (one in flight across a change proves nothing). */
  private changedAt = 0;

  constructor(
    connectionString: string,
    settings: PoolSettings,
    private readonly logger: Logger,
  ) {
    this.pool = createPool(connectionString, settings, "tokenvault-worker");
    // An idle connection that breaks is reported here (unhandled, it would end the process). The
    // pool drops it; whether the database is lost is for the next query to tell.
    this.pool.on("error", () => {});
  }

  /** True while the database is considered lost (the last query failed as unavailable). */
  get unreachable(): boolean {
    return this.unreachableSince !== null;
  }

  async executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> {
    const startedAt = Date.now();
    try {
      const result = await this.pool.query(text, values);
      this.succeeded(startedAt);
      return result;
    } catch (error) {
      this.failed(startedAt, error);
      throw error;
    }
  }

  /** Waits for queries in flight (each bounded by the query timeout) and closes every connection. */
  async close(): Promise<void> {
    if (!this.pool.ending) await this.pool.end();
  }

  private failed(startedAt: number, error: unknown): void {
    if (this.unreachableSince !== null || startedAt < this.changedAt || !isDatabaseUnavailable(error)) return;
    this.unreachableSince = this.changedAt = Date.now();
    this.logger.error("database unreachable", { component: "pg-boss", error: error instanceof Error ? error.message.slice(0, 200) : "unknown" });
  }

  private succeeded(startedAt: number): void {
    if (this.unreachableSince === null || startedAt < this.changedAt) return;
    const downMs = Date.now() - this.unreachableSince;
    this.unreachableSince = null;
    this.changedAt = Date.now();
    this.logger.info("database reachable again", { component: "pg-boss", downMs });
  }
}
