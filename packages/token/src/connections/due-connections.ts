import { Prisma } from "@tokenvault/db";

/**
 * What the worker's scan asks the database for: bounds computed from its configuration so the
 * query returns every connection its per-row decision could act on (a superset), and no more
 * than a few index ranges reach.
 */
export interface DueCriteria {
  now: Date;
  /** Access tokens still valid but expiring within this many ms (0: refresh-ahead is off). */
  refreshAheadMs: number;
  /** Keep-alive: the configured fraction (clamped to [0, 0.5] as the decision does). */
  keepAliveFraction: number;
  /** The shortest idle lifetime the decision may use for a refresh token without a stored one. */
  minIdleMs: number;
  /** Hard-expiry warnings start this many days before the end (the largest threshold). */
  horizonDays: number;
}

/**
 * Ids of the grants that may be due, one index range per reason (UNION removes repeats):
 * - refresh-ahead: valid access tokens expiring within the window (TokenSecret kind, expiresAt);
 * - keep-alive: valid refresh tokens never refreshed, or refreshed before now - fraction × T, or
 *   expiring before now + T, with T the shortest idle lifetime. A stored lifetime L is due at
 *   lastRefreshedAt + fraction × L: when L ≥ T that is after the first bound, when L < T its
 *   expiry is within T (TokenSecret kind, lastRefreshedAt / kind, expiresAt);
 * - expired grants to notify: refresh tokens no longer valid (TokenSecret kind, state);
 * - incidents to recover or escalate: "incident" set (Connection incident);
 * - horizon: connections with a stored hard expiry (GIN on metadata), within the warning days.
 */
export function dueConnectionsSql(criteria: DueCriteria): Prisma.Sql {
  const { now, refreshAheadMs, horizonDays } = criteria;
  const fraction = Math.max(0, Math.min(criteria.keepAliveFraction, 0.5));
  const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);
  const refreshAhead =
    refreshAheadMs > 0
      ? Prisma.sql`SELECT "grantId" AS id FROM "TokenSecret"
          WHERE "kind" = 'ACCESS_TOKEN' AND "expiresAt" > ${now} AND "expiresAt" <= ${at(refreshAheadMs)} AND "state" = 'VALID'
        UNION `
      : Prisma.empty;
  return Prisma.sql`
    ${refreshAhead}SELECT "grantId" AS id FROM "TokenSecret"
      WHERE "kind" = 'REFRESH_TOKEN' AND "state" = 'VALID'
        AND ("lastRefreshedAt" IS NULL OR "lastRefreshedAt" <= ${at(-fraction * criteria.minIdleMs)} OR "expiresAt" <= ${at(criteria.minIdleMs)})
    UNION
    SELECT "grantId" AS id FROM "TokenSecret" WHERE "kind" = 'REFRESH_TOKEN' AND "state" IN ('EXPIRED', 'REVOKED', 'INVALID')
    UNION
    SELECT "id" FROM "OAuthGrant" WHERE "incident" IS NOT NULL
    UNION
    SELECT "id" FROM "OAuthGrant"
      WHERE "metadata" ? 'refreshTokenHardExpiresAt'
        AND ("metadata"->>'refreshTokenHardExpiresAt')::timestamptz <= ${at(horizonDays * 86_400_000)}`;
}
