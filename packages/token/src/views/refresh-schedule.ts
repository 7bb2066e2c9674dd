// When the background worker will refresh a connection next: the rules the worker's scan decides
// by (apps/worker/src/policy.ts uses refreshTokenIdleMs and keepAliveAt), so the dashboard shows what will happen.
import type { RefreshSchedule } from "../options";
import { refreshMarginFor } from "../refresh/freshness";

interface Dated {
  state?: string;
  expiresAt: Date | null;
  lastRefreshedAt: Date | null;
}

/**
 * A refresh token's idle lifetime: as stored (expiry minus last refresh) when known, else the
 * provider's documented one (definitions.ts, or a configured provider's settings), else the
 * schedule's generic one.
 */
export function refreshTokenIdleMs(refresh: Dated | null, providerIdleMs: number | null | undefined, schedule: Pick<RefreshSchedule, "genericIdleMs">): number {
  if (refresh?.expiresAt && refresh.lastRefreshedAt) {
    const stored = refresh.expiresAt.getTime() - refresh.lastRefreshedAt.getTime();
    if (stored > 0) return stored;
  }
  return providerIdleMs || schedule.genericIdleMs;
}

/**
 * When a refresh token of idle lifetime `lifetimeMs` is due to be used: `fraction` of its life
 * after its last refresh, or earlier when the provider shortened its life (a rolling expiry
 * before the idle one): the same fraction counted back from its end. Never refreshed: now.
 */
export function keepAliveAt(refresh: Dated, lifetimeMs: number, fraction: number, now: Date): Date {
  if (!refresh.lastRefreshedAt) return now;
  const f = Math.min(fraction, 0.5);
  const byAge = refresh.lastRefreshedAt.getTime() + lifetimeMs * f;
  const byEnd = refresh.expiresAt ? refresh.expiresAt.getTime() - lifetimeMs * (1 - f) : Infinity;
  return new Date(Math.min(byAge, byEnd));
}

/**
 * The worker's next refresh of a connection: the refresh-ahead moment of a still-valid access
 * token or the keep-alive moment, whichever comes first (possibly already passed: the next scan
 * takes it). Null when the worker will not refresh it (no usable refresh token, or exhausted).
 */
export function nextScheduledRefresh(
  connection: { access: Dated | null; refresh: Dated | null; exhausted: boolean; idleLifetimeMs: number },
  schedule: RefreshSchedule,
  now: Date,
): Date | null {
  const { access, refresh } = connection;
  if (!refresh || refresh.state !== "VALID" || connection.exhausted) return null;
  const keepAlive = keepAliveAt(refresh, connection.idleLifetimeMs, schedule.keepAliveFraction, now);
  if (schedule.refreshAheadMs <= 0 || access?.state !== "VALID" || !access.expiresAt || access.expiresAt <= now) return keepAlive;
  const ahead = access.expiresAt.getTime() - refreshMarginFor({ expiresAt: access.expiresAt, lastRefreshedAt: access.lastRefreshedAt }, schedule.refreshAheadMs);
  return new Date(Math.min(ahead, keepAlive.getTime()));
}
