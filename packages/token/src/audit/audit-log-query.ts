import { Prisma, type AuditAction, type AuditOutcome, type PrismaClient } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { AuditEntry } from "../types";
import { failClosedOnDatabase } from "../database-unavailable";

export interface AuditLogFilters {
  connectionType?: string;
  /** One connection's rows (those written since connections v2 name it). */
  connectionId?: string;
  action?: AuditAction;
  outcome?: AuditOutcome;
  userId?: string;
  from?: Date;
  to?: Date;
}

export interface AuditLogPage {
  items: AuditEntry[];
  /** Opaque; pass back to get the next (older) page. Null on the last page. */
  nextCursor: string | null;
}

interface Cursor {
  t: string;
  id: string;
}

export const MAX_PAGE_SIZE = 200;

function encodeCursor(entry: { timestamp: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ t: entry.timestamp.toISOString(), id: entry.id } satisfies Cursor)).toString("base64url");
}

/** A cursor's parts as encodeCursor writes them: anything else would reach PostgreSQL's casts and fail there. */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parseCursor(cursor: string): Cursor | null {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Partial<Cursor>;
    // Audit rows are written now: a time before 1970 (or NaN) is forged.
    if (typeof parsed.t === "string" && typeof parsed.id === "string" && CURSOR_TIME.test(parsed.t) && Date.parse(parsed.t) >= 0 && UUID.test(parsed.id)) {
      return { t: parsed.t, id: parsed.id };
    }
  } catch {
    // fall through
  }
  return null;
}

/** Whether a page cursor is one this query wrote: an API can refuse a forged one as bad input, with the field named. */
export function isAuditCursor(cursor: string): boolean {
  return parseCursor(cursor) !== null;
}

function decodeCursor(cursor: string): Cursor {
  const parsed = parseCursor(cursor);
  if (!parsed) throw new TokenError("INVALID_INPUT", "The page cursor is not valid.");
  return parsed;
}

/**
 * Reads one company's audit log newest first with keyset pagination on (timestamp, id): each
 * page is an index range scan of (companyId, timestamp DESC, id DESC), however deep it is.
 */
export class AuditLogQuery {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * The SQL of one page. The cursor is a row comparison, ("timestamp", id) < (t, id): an index
   * range condition on (companyId, timestamp DESC, id DESC), so a page deep in the log starts
   * at the cursor instead of scanning every newer row (an OR of the two cases would be a filter).
   */
  pageQuery(companyId: string, filters: AuditLogFilters, cursor: string | null | undefined, limit: number): Prisma.Sql {
    const after = cursor ? decodeCursor(cursor) : null;
    const conditions: Prisma.Sql[] = [Prisma.sql`"companyId" = ${companyId}`];
    if (filters.connectionType) conditions.push(Prisma.sql`"connectionType" = ${filters.connectionType}`);
    if (filters.connectionId) conditions.push(Prisma.sql`"connectionId" = ${filters.connectionId}::uuid`);
    if (filters.action) conditions.push(Prisma.sql`"action" = ${filters.action}::"AuditAction"`);
    if (filters.outcome) conditions.push(Prisma.sql`"outcome" = ${filters.outcome}::"AuditOutcome"`);
    if (filters.userId) conditions.push(Prisma.sql`"userId" = ${filters.userId}`);
    if (filters.from) conditions.push(Prisma.sql`"timestamp" >= ${filters.from}`);
    if (filters.to) conditions.push(Prisma.sql`"timestamp" < ${filters.to}`);
    if (after) conditions.push(Prisma.sql`("timestamp", "id") < (${new Date(after.t)}::timestamptz, ${after.id}::uuid)`);
    return Prisma.sql`
      SELECT "id", "timestamp", "companyId", "userId", "action"::text AS "action", "outcome"::text AS "outcome",
             "connectionType", "connectionId"::text AS "connectionId", "apiEndpoint", "requestMethod", "responseStatus", "ipAddress", "userAgent",
             "errorMessage", "responseTime", "details"
        FROM "AuditLog"
       WHERE ${Prisma.join(conditions, " AND ")}
       ORDER BY "timestamp" DESC, "id" DESC
       LIMIT ${limit + 1}`;
  }

  async list(companyId: string, filters: AuditLogFilters = {}, options: { cursor?: string | null; limit?: number } = {}): Promise<AuditLogPage> {
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 50)), MAX_PAGE_SIZE);
    const rows = await failClosedOnDatabase(() => this.prisma.$queryRaw<AuditEntry[]>(this.pageQuery(companyId, filters, options.cursor, limit)));
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit && items.length > 0 ? encodeCursor(items[items.length - 1]!) : null };
  }

  /** Every matching row, newest first, in pages: for streaming exports without holding them all. */
  async *all(companyId: string, filters: AuditLogFilters = {}, pageSize = 1000): AsyncGenerator<AuditEntry> {
    let cursor: string | null = null;
    do {
      const page: AuditLogPage = await this.list(companyId, filters, { cursor, limit: Math.min(pageSize, MAX_PAGE_SIZE) });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }
}

const CSV_COLUMNS = ["timestamp", "userId", "action", "outcome", "connectionType", "connectionId", "apiEndpoint", "requestMethod", "responseStatus", "responseTime", "ipAddress", "userAgent", "errorMessage"] as const;

/**
 * OWASP's CSV-injection list: a cell a spreadsheet may run as a formula starts with = + - @, a
 * tab, CR or LF (or "|", DDE in older Excel), or holds one right after a separator (";" or ",") a
 * spreadsheet may split the cell on. Such text is prefixed with a quote, which makes it text.
 */
const FORMULA = /^[=+\-@\t\r\n|]|[;,]\s*[=+\-@|]/;

/** One CSV field: quoted when needed, and formula-looking text neutralised for spreadsheets. */
export function csvField(value: string | number | Date | null | undefined): string {
  let text = value instanceof Date ? value.toISOString() : value === null || value === undefined ? "" : String(value);
  if (FORMULA.test(text)) text = `'${text}`;
  return /[",;\r\n'\t]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(",")}\r\n`;
}

export function csvRow(entry: AuditEntry): string {
  return `${CSV_COLUMNS.map((column) => csvField(entry[column])).join(",")}\r\n`;
}
