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
 * The sql of the history: one statement grouping the company's REFRESH and CHECK rows of one
 * provider by UTC day, over [from, to). It is served by the (companyId, connectionType,
 * timestamp) index; the action is a filter on what that range holds.
 */
export function connectionHistorySql(companyId: string, provider: string, from: Date, to: Date): Prisma.Sql {
  return Prisma.sql`
    SELECT to_char(("timestamp" AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS "day",
           count(*) FILTER (WHERE "action" = 'REFRESH' AND "outcome" = 'SUCCESS')::int AS "refreshSuccess",
           count(*) FILTER (WHERE "action" = 'REFRESH' AND "outcome" = 'FAILURE')::int AS "refreshFailure",
           count(*) FILTER (WHERE "action" = 'CHECK' AND "outcome" = 'SUCCESS')::int AS "checkSuccess",
           count(*) FILTER (WHERE "action" = 'CHECK' AND "outcome" = 'FAILURE')::int AS "checkFailure",
           round(avg("responseTime") FILTER (WHERE "action" = 'REFRESH'))::int AS "refreshLatencyMs",
           round(avg("responseTime") FILTER (WHERE "action" = 'CHECK'))::int AS "checkLatencyMs"
      FROM "AuditLog"
     WHERE "companyId" = ${companyId} AND "connectionType" = ${provider}
       AND "timestamp" >= ${from} AND "timestamp" < ${to}
       AND "action" IN ('REFRESH', 'CHECK')
     GROUP BY 1
     ORDER BY 1`;
}

/**
 * The last `days` UTC days up to and including today, every day present (zeros where nothing
 * happened), oldest first. Reads the audit log only.
 */
export async function connectionHistory(prisma: PrismaClient, companyId: string, provider: string, days: HistoryRange, now: Date): Promise<ConnectionHistoryDay[]> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const to = new Date(today + DAY_MS);
  const rows = await prisma.$queryRaw<Row[]>(connectionHistorySql(companyId, provider, from, to));
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    const row = byDay.get(day);
    return row ?? { day, refreshSuccess: 0, refreshFailure: 0, checkSuccess: 0, checkFailure: 0, refreshLatencyMs: null, checkLatencyMs: null };
  });
}
