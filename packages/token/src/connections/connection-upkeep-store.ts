import type { Prisma, PrismaClient, TokenState } from "@tokenvault/db";
import { metadataOf } from "./connection";
import { dueConnectionsSql, type DueCriteria } from "./due-connections";

/** What a background worker needs of a grant secret: dates and state, never the value. */
export interface UpkeepSecret {
  state: TokenState;
  expiresAt: Date | null;
  lastRefreshedAt: Date | null;
}

/**
 * A grant as the background worker sees it (it refreshes, counts failures and notifies per
 * grant), with the connections it serves. No secret, no ciphertext.
 */
export interface UpkeepConnection {
  /** The grant's first connection (the oldest): the id the worker's jobs name. The grant's own id when it serves none. */
  id: string;
  /** The grant: what the upkeep columns (failing days, incident, warning) belong to. */
  grantId: string;
  companyId: string;
  provider: string;
  /** The first connection's realm or tenant ("" when none): the worker's per-tenant limit. */
  externalId: string;
  /** The connections the grant serves: whom an event about it names. */
  connections: { id: string; externalId: string }[];
  /**
   * Every connection the grant serves is paused: the worker neither refreshes nor keeps it alive.
   * A grant shared by several connections (one Xero consent) is kept alive while any is enabled.
   */
  paused: boolean;
  refreshFailureDays: number;
  lastFailureDay: string | null;
  exhaustedAt: Date | null;
  incident: UpkeepIncident | null;
  incidentAt: Date | null;
  horizonWarning: string | null;
  /** The refresh token's absolute end (Intuit's 5-year cap), when the provider told us. */
  hardExpiresAt: Date | null;
  access: UpkeepSecret | null;
  refresh: UpkeepSecret | null;
}

export type UpkeepIncident = "refresh_failed" | "exhausted" | "expired";

const SELECT = {
  id: true,
  companyId: true,
  provider: true,
  metadata: true,
  connections: { select: { id: true, externalId: true, disabledAt: true }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
  refreshFailureDays: true,
  lastFailureDay: true,
  exhaustedAt: true,
  incident: true,
  incidentAt: true,
  horizonWarning: true,
  secrets: { where: { kind: { in: ["ACCESS_TOKEN", "REFRESH_TOKEN"] } }, select: { kind: true, state: true, expiresAt: true, lastRefreshedAt: true } },
} satisfies Prisma.OAuthGrantSelect;

type Row = Prisma.OAuthGrantGetPayload<{ select: typeof SELECT }>;

/** The worker's view of a grant row and its connections: dates and states, no secret. */
export function toUpkeep(row: Row): UpkeepConnection {
  const secret = (kind: string): UpkeepSecret | null => {
    const found = row.secrets.find((s) => s.kind === kind);
    return found ? { state: found.state, expiresAt: found.expiresAt, lastRefreshedAt: found.lastRefreshedAt } : null;
  };
  const hard = metadataOf(row).refreshTokenHardExpiresAt;
  return {
    id: row.connections[0]?.id ?? row.id,
    grantId: row.id,
    companyId: row.companyId,
    provider: row.provider,
    externalId: row.connections[0]?.externalId ?? "",
    connections: row.connections.map((c) => ({ id: c.id, externalId: c.externalId })),
    paused: row.connections.length > 0 && row.connections.every((c) => c.disabledAt !== null),
    refreshFailureDays: row.refreshFailureDays,
    lastFailureDay: row.lastFailureDay,
    exhaustedAt: row.exhaustedAt,
    incident: row.incident as UpkeepIncident | null,
    incidentAt: row.incidentAt,
    horizonWarning: row.horizonWarning,
    hardExpiresAt: hard ? new Date(hard) : null,
    access: secret("ACCESS_TOKEN"),
    refresh: secret("REFRESH_TOKEN"),
  };
}

/**
 * The background worker's columns of `OAuthGrant` (failing days, exhaustion, the incident
 * notified, the hard-expiry warning sent). A sibling of GrantStore, which stays the writer
 * of everything else on the row (lease, fence, grant); these columns are written only here,
 * each change one conditional UPDATE so that several workers count and notify once.
 */
export class ConnectionUpkeepStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * The connections that may be due (see dueConnectionsSql: a few index ranges, not every row),
   * in id order. The caller still decides per row.
   */
  async listDue(criteria: DueCriteria): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: string | null }[]>(dueConnectionsSql(criteria));
    return rows.flatMap((r) => (r.id ? [r.id] : [])).sort();
  }

  /** The connections named (those still present), in id order. */
  async listByIds(ids: string[]): Promise<UpkeepConnection[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.oAuthGrant.findMany({ select: SELECT, where: { id: { in: ids } }, orderBy: { id: "asc" } });
    return rows.map(toUpkeep);
  }

  /**
   * Counts `day` (UTC, YYYY-MM-DD) as a failing day unless it already was, and marks the
   * connection exhausted once `exhaustAfterDays` days failed. Atomic: concurrent failures on
   * one day count once.
   */
  async countFailureDay(connectionId: string, day: string, exhaustAfterDays: number, now: Date): Promise<{ failureDays: number; exhausted: boolean }> {
    const rows = await this.prisma.$queryRaw<{ refreshFailureDays: number; exhaustedAt: Date | null }[]>`
      UPDATE "OAuthGrant"
         SET "refreshFailureDays" = "refreshFailureDays" + (CASE WHEN "lastFailureDay" IS DISTINCT FROM ${day} THEN 1 ELSE 0 END),
             "lastFailureDay" = ${day},
             "exhaustedAt" = CASE
               WHEN "exhaustedAt" IS NULL
                AND "refreshFailureDays" + (CASE WHEN "lastFailureDay" IS DISTINCT FROM ${day} THEN 1 ELSE 0 END) >= ${exhaustAfterDays}
               THEN ${now}::timestamptz ELSE "exhaustedAt" END
       WHERE "id" = ${connectionId}::uuid
      RETURNING "refreshFailureDays", "exhaustedAt"`;
    const row = rows[0];
    return { failureDays: row?.refreshFailureDays ?? 0, exhausted: !!row?.exhaustedAt };
  }

  /**
   * Records `incident` as notified when the open one is among `replaces` (null: none open).
   * True only for the caller that changed it, so each incident is notified once. Its time is
   * PostgreSQL's, like the tokens' refresh times it is compared with (a renewal since the incident).
   */
  async openIncident(connectionId: string, incident: UpkeepIncident, replaces: (UpkeepIncident | null)[]): Promise<boolean> {
    const named = replaces.filter((r): r is UpkeepIncident => r !== null);
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE "OAuthGrant" SET "incident" = ${incident}, "incidentAt" = clock_timestamp()
       WHERE "id" = ${connectionId}::uuid
         AND (("incident" IS NULL AND ${replaces.includes(null)}) OR "incident" = ANY(${named}::text[]))
      RETURNING "id"`;
    return rows.length === 1;
  }

  /**
   * The connection works again: the streak, exhaustion and incident are cleared. Returns the
   * incident that was open (to notify the recovery once), or null when none was.
   */
  async recover(connectionId: string): Promise<UpkeepIncident | null> {
    const rows = await this.prisma.$queryRaw<{ incident: string | null }[]>`
      UPDATE "OAuthGrant" AS c
         SET "refreshFailureDays" = 0, "lastFailureDay" = NULL, "exhaustedAt" = NULL, "incident" = NULL, "incidentAt" = NULL
        FROM (SELECT "id", "incident" FROM "OAuthGrant" WHERE "id" = ${connectionId}::uuid FOR UPDATE) AS old
       WHERE c."id" = old."id"
         AND (c."refreshFailureDays" > 0 OR c."exhaustedAt" IS NOT NULL OR c."incident" IS NOT NULL)
      RETURNING old."incident"`;
    return (rows[0]?.incident as UpkeepIncident | null | undefined) ?? null;
  }

  /** Compare-and-set of the hard-expiry warning sent. True only for the caller that moved it. */
  async markHorizonWarning(connectionId: string, expected: string | null, next: string): Promise<boolean> {
    const { count } = await this.prisma.oAuthGrant.updateMany({ where: { id: connectionId, horizonWarning: expected }, data: { horizonWarning: next } });
    return count === 1;
  }
}
