import { Prisma, type PrismaClient } from "@tokenvault/db";

/** One UTC day of a connection's refreshes and live checks, from its audit rows. */
export interface ConnectionHistoryDay {
  /** YYYY-MM-DD, UTC. */
  day: string;
  refreshSuccess: number;
  refreshFailure: number;
  checkSuccess: number;
  checkFailure: number;
  /** Mean provider response time of the day's refreshes / checks, in ms; null: none recorded. */
  refreshLatencyMs: number | null;
  checkLatencyMs: number | null;
}

export const HISTORY_RANGES = [7, 30] as const;
export type HistoryRange = (typeof HISTORY_RANGES)[number];

const DAY_MS = 86_400_000;

interface Row {
  day: string;
  refreshSuccess: number;
  refreshFailure: number;
  checkSuccess: number;
  checkFailure: number;
  refreshLatencyMs: number | null;
  checkLatencyMs: number | null;
}

/**
 * Whose history: a provider's (every row of the company's connections of it), or one connection's:
 * its own checks, and the refreshes of its grant. A grant's refresh serves every connection it
 * reaches (one Xero consent's organisations) and its row names the connection that asked for it,
 * so `grantConnections` lists the connections the grant serves now (the connection's own id among them).
 */
export type HistoryScope = string | { connectionId: string; grantConnections: readonly string[] };

/**
 * The sql of the history: one statement grouping the company's REFRESH and CHECK rows of one
 * provider (or one connection) by UTC day, over [from, to). A provider's is served by the
 * (companyId, connectionType, timestamp) index, a connection's by the (companyId, connectionId,
 * timestamp) one; the action is a filter on what that range holds.
 */
export function connectionHistorySql(companyId: string, scope: HistoryScope, from: Date, to: Date): Prisma.Sql {
  const whose =
    typeof scope === "string"
      ? Prisma.sql`"connectionType" = ${scope}`
      : Prisma.sql`"connectionId" = ANY(${[...scope.grantConnections]}::uuid[]) AND ("action" = 'REFRESH' OR "connectionId" = ${scope.connectionId}::uuid)`;
  return Prisma.sql`
    SELECT to_char(("timestamp" AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS "day",
           count(*) FILTER (WHERE "action" = 'REFRESH' AND "outcome" = 'SUCCESS')::int AS "refreshSuccess",
           count(*) FILTER (WHERE "action" = 'REFRESH' AND "outcome" = 'FAILURE')::int AS "refreshFailure",
           count(*) FILTER (WHERE "action" = 'CHECK' AND "outcome" = 'SUCCESS')::int AS "checkSuccess",
           count(*) FILTER (WHERE "action" = 'CHECK' AND "outcome" = 'FAILURE')::int AS "checkFailure",
           round(avg("responseTime") FILTER (WHERE "action" = 'REFRESH'))::int AS "refreshLatencyMs",
           round(avg("responseTime") FILTER (WHERE "action" = 'CHECK'))::int AS "checkLatencyMs"
      FROM "AuditLog"
     WHERE "companyId" = ${companyId} AND ${whose}
       AND "timestamp" >= ${from} AND "timestamp" < ${to}
       AND "action" IN ('REFRESH', 'CHECK')
     GROUP BY 1
     ORDER BY 1`;
}

/**
 * The last `days` UTC days up to and including today, every day present (zeros where nothing
 * happened), oldest first. Reads the audit log only.
 */
export async function connectionHistory(prisma: PrismaClient, companyId: string, scope: HistoryScope, days: HistoryRange, now: Date): Promise<ConnectionHistoryDay[]> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const to = new Date(today + DAY_MS);
  const rows = await prisma.$queryRaw<Row[]>(connectionHistorySql(companyId, scope, from, to));
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    const row = byDay.get(day);
    return row ?? { day, refreshSuccess: 0, refreshFailure: 0, checkSuccess: 0, checkFailure: 0, refreshLatencyMs: null, checkLatencyMs: null };
  });
}
