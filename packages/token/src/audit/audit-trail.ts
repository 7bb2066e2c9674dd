import { randomUUID } from "node:crypto";
import { Prisma, type AuditLog, type PrismaClient } from "@tokenvault/db";
import type { Logger } from "../logger";
import type { RequestContext } from "../types";
import { requireName } from "../validation";

/** What a module says happened; the row adds who (the request context) and when. */
export type AuditEvent = Pick<AuditLog, "companyId" | "action" | "outcome" | "connectionType" | "apiEndpoint" | "requestMethod" | "responseStatus"> &
  Partial<Pick<AuditLog, "errorMessage" | "responseTime" | "connectionId">> & {
    details?: Record<string, string | number | boolean | null>;
  };

/** What a SESSION_END row says: which ending, whose sessions, how many. */
export interface SessionsEnded {
  scope: "sign-out" | "one" | "all" | "member" | "reuse";
  targetUserId: string;
  sessions: number;
  /** The route or procedure that ended them. */
  endpoint: string;
}

function row(event: AuditEvent, context: RequestContext, at: Date): Prisma.AuditLogCreateManyInput {
  return {
    timestamp: at,
    companyId: event.companyId,
    userId: context.userId,
    action: event.action,
    outcome: event.outcome,
    connectionType: event.connectionType,
    connectionId: event.connectionId ?? null,
    apiEndpoint: event.apiEndpoint,
    requestMethod: event.requestMethod,
    responseStatus: event.responseStatus,
    ipAddress: context.ipAddress ?? null,
    userAgent: context.userAgent ? context.userAgent.slice(0, 512) : null,
    errorMessage: event.errorMessage ?? null,
    responseTime: event.responseTime ?? null,
    details: event.details ?? undefined,
  };
}

/** Token reads waiting for the next batch: identical ones share an entry and count. */
interface QueuedRead {
  key: string;
  row: Prisma.AuditLogCreateManyInput;
  reads: number;
  lastAt: Date;
}

/** Everything a read's row says but its time: reads with the same key are the same fact, repeated. */
function readKey(event: AuditEvent, context: RequestContext): string {
  // A join, not JSON of the row: this runs on every warm read.
  return [
    event.companyId,
    context.userId,
    event.action,
    event.outcome,
    event.connectionType,
    event.connectionId ?? "",
    event.apiEndpoint,
    event.requestMethod,
    event.responseStatus,
    context.ipAddress ?? "",
    context.userAgent ?? "",
    event.errorMessage ?? "",
    event.responseTime ?? "",
    event.details ? JSON.stringify(event.details) : "",
  ].join("\u0000");
}

/** A queued entry as the row written: reads repeated within the batch say how many and until when. */
function asRow({ row, reads, lastAt }: QueuedRead): Prisma.AuditLogCreateManyInput {
  if (reads === 1) return row;
  const details = (row.details ?? {}) as Record<string, string | number | boolean | null>;
  return { ...row, details: { ...details, reads, lastReadAt: lastAt.toISOString() } };
}

/**
 * Writes audit rows. Events that change state are written in the caller's transaction, so the
 * row and the change commit together. Token reads, which are hot, are queued and written in
 * batches off the request path, once an interval (1 s; a full batch at once) and at shutdown (`flush()`). Within a
 * batch, identical reads (same company, user, provider, endpoint, address, agent and outcome) are
 * one row: its time is the first read's, `details.reads` how many, `details.lastReadAt` the
 * last's. Writing a row per read was most of a warm read's cost and kept four processes from
 * scaling (docs/performance.md).
 */
export class AuditTrail {
  private queue: QueuedRead[] = [];
  /** The queued entry of each key, while it is still in the queue. */
  private readonly byKey = new Map<string, QueuedRead>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
    private readonly options: { flushIntervalMs: number; maxBatch: number } = { flushIntervalMs: 1_000, maxBatch: 500 },
  ) {}

  async write(tx: Prisma.TransactionClient, event: AuditEvent, context: RequestContext, at: Date): Promise<void> {
    await tx.auditLog.create({ data: row(event, context, at) });
  }

  /** The same row as `write`, as a statement's fragment (a CTE body) inserted only when `guard` holds. */
  insertSql(event: AuditEvent, context: RequestContext, at: Date, guard: Prisma.Sql): Prisma.Sql {
    const r = row(event, context, at);
    const details = r.details === undefined ? null : JSON.stringify(r.details);
    return Prisma.sql`
      INSERT INTO "AuditLog" ("id", "timestamp", "companyId", "userId", "action", "outcome", "connectionType", "connectionId", "apiEndpoint", "requestMethod",
                              "responseStatus", "ipAddress", "userAgent", "errorMessage", "responseTime", "details")
      SELECT gen_random_uuid(), ${r.timestamp}::timestamptz, ${r.companyId}, ${r.userId}, ${r.action}::"AuditAction", ${r.outcome}::"AuditOutcome",
             ${r.connectionType}, ${r.connectionId ?? null}::uuid, ${r.apiEndpoint}, ${r.requestMethod}, ${r.responseStatus}::int, ${r.ipAddress}, ${r.userAgent},
             ${r.errorMessage}, ${r.responseTime}::int, ${details}::jsonb
       WHERE ${guard}
      RETURNING 1`;
  }

  /** Writes one row on its own (an event with no other write to join). */
  async writeNow(event: AuditEvent, context: RequestContext, at: Date): Promise<void> {
    await this.prisma.auditLog.create({ data: row(event, context, at) });
  }

  /** Records that someone exported a company's audit log (who, when, with which filters). */
  async recordExport(companyId: string, context: RequestContext, filters: Record<string, string | number | boolean | null>, at: Date): Promise<void> {
    requireName("companyId", companyId);
    await this.writeNow(
      { companyId, action: "EXPORT", outcome: "SUCCESS", connectionType: "audit-log", apiEndpoint: "/api/audit/export", requestMethod: "GET", responseStatus: 200, details: filters },
      context,
      at,
    );
  }

  /**
   * Records that sign-in sessions were ended (sign-out, one, all, or an administrator ending a
   * member's): who acted, whose sessions, how many. Never a session id or token.
   */
  async recordSessionsEnded(companyId: string, context: RequestContext, ended: SessionsEnded, at: Date): Promise<void> {
    requireName("companyId", companyId);
    await this.writeNow(
      { companyId, action: "SESSION_END", outcome: "SUCCESS", connectionType: "session", apiEndpoint: ended.endpoint, requestMethod: "POST", responseStatus: 200, details: { scope: ended.scope, targetUserId: ended.targetUserId, sessions: ended.sessions } },
      context,
      at,
    );
  }

  /** Queues a token-read row; never blocks or fails the read. */
  enqueue(event: AuditEvent, context: RequestContext, at: Date): void {
    const key = readKey(event, context);
    const same = this.byKey.get(key);
    if (same) {
      same.reads++;
      if (at > same.lastAt) same.lastAt = at;
      this.schedule();
      return;
    }
    // Its id is chosen here, so a batch written again after a lost answer skips the rows that committed.
    const entry = { key, row: { id: randomUUID(), ...row(event, context, at) }, reads: 1, lastAt: at };
    this.queue.push(entry);
    this.byKey.set(key, entry);
    if (this.queue.length >= this.options.maxBatch) void this.writeQueued(false);
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.writeQueued(false), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Reads queued and not yet written (each read counted, also those sharing a row). */
  get pending(): number {
    let reads = 0;
    for (const entry of this.queue) reads += entry.reads;
    return reads;
  }

  /** Retention: deletes rows older than `olderThan` through purge_audit_log(), the only path the database allows. */
  async purgeOlderThan(olderThan: Date): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ removed: bigint }[]>`SELECT purge_audit_log(${olderThan}::timestamptz) AS removed`;
    return Number(rows[0]?.removed ?? 0);
  }

  /** Writes every queued row. Safe to call concurrently; resolves when the queue is empty. */
  flush(): Promise<void> {
    return this.writeQueued(true);
  }

  /**
   * Writes the queue in batches. `untilEmpty` (flush, shutdown): also what is queued while it
   * writes. The interval's write takes only what was queued when it started: reads queued during
   * its INSERT wait for the next interval. Draining those at once as well kept a busy process
   * writing a batch after every batch, one INSERT per database round trip (0.23 per cold read on
   * a loaded machine, docs/performance.md), where the interval means at most one a second.
   */
  private writeQueued(untilEmpty: boolean): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing = this.flushing.then(async () => {
      let left = untilEmpty ? Infinity : this.queue.length;
      while (this.queue.length > 0 && left > 0) {
        const batch = this.queue.splice(0, Math.min(this.options.maxBatch, left));
        left -= batch.length;
        // From here on a new read starts a new row: this batch's rows are being written.
        for (const entry of batch) if (this.byKey.get(entry.key) === entry) this.byKey.delete(entry.key);
        try {
          await this.prisma.auditLog.createMany({ data: batch.map(asRow), skipDuplicates: true });
        } catch (error) {
          // Put the rows back and try again after the interval, with or without new reads
          // (the database may come back while nobody reads a token): nothing queued is lost. The
          // batch may have committed with its answer lost: the retry skips rows already there.
          this.queue.unshift(...batch);
          this.logger.error("audit flush failed; rows kept for retry", { rows: this.queue.length, error: error instanceof Error ? error.name : "unknown" });
          this.schedule();
          return;
        }
      }
      // Reads queued during the write: the next interval writes them.
      if (this.queue.length > 0) this.schedule();
    });
    return this.flushing;
  }
}
