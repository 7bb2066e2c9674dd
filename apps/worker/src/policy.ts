import { keepAliveAt, refreshMarginFor, refreshTokenIdleMs, type DueCriteria, type UpkeepConnection } from "@tokenvault/token";
import type { WorkerConfig } from "./config";

export type RefreshReason = "refresh-ahead" | "keep-alive";

/** What the scan does for one connection. */
export interface Decision {
  refresh: RefreshReason | null;
  /** A person reconnected or forced a refresh since the incident: notify the recovery. */
  recovered: boolean;
  /** The grant is expired (a caller or a refresh met invalid_grant) and no one was told yet. */
  expired: boolean;
  /** A hard-expiry warning to send, as "<hard expiry ISO>:<days>", or null. */
  horizonWarning: { marker: string; daysLeft: number; hardExpiresAt: Date } | null;
}

const DAY_MS = 24 * 3600 * 1000;

/** The calendar day (UTC) a failure is counted on. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The refresh token's idle lifetime, by the token package's rule (the dashboard's too). */
export function idleLifetimeMs(connection: UpkeepConnection, config: WorkerConfig): number {
  return refreshTokenIdleMs(connection.refresh, config.idleMsByProvider[connection.provider], config);
}

/** True once the grant should be used so that its refresh token does not idle out (at the latest at half its lifetime). */
export function keepAliveDue(connection: UpkeepConnection, config: WorkerConfig, now: Date): boolean {
  const refresh = connection.refresh;
  if (!refresh) return false;
  // The token package's rule, which the dashboard's "next refresh" shows too.
  return keepAliveAt(refresh, idleLifetimeMs(connection, config), config.keepAliveFraction, now) <= now;
}

function horizon(connection: UpkeepConnection, config: WorkerConfig, now: Date): Decision["horizonWarning"] {
  const hard = connection.hardExpiresAt;
  if (!hard) return null;
  const daysLeft = Math.max(0, Math.ceil((hard.getTime() - now.getTime()) / DAY_MS));
  // The tightest threshold reached: 7 once within 7 days, else 30 once within 30.
  const reached = [...config.horizonWarningDays].sort((a, b) => a - b).find((days) => daysLeft <= days);
  if (reached === undefined) return null;
  const marker = `${hard.toISOString()}:${reached}`;
  if (connection.horizonWarning === marker) return null;
  // Already warned at a tighter threshold for the same expiry: nothing looser afterwards.
  const [warnedFor, warnedDays] = (connection.horizonWarning ?? "").split(/:(?=\d+$)/);
  if (warnedFor === hard.toISOString() && Number(warnedDays) <= reached) return null;
  return { marker, daysLeft, hardExpiresAt: hard };
}

/** The scan's decision for one connection, from the database's view of it only. */
export function decide(connection: UpkeepConnection, config: WorkerConfig, now: Date): Decision {
  const none: Decision = { refresh: null, recovered: false, expired: false, horizonWarning: null };
  const { refresh, access } = connection;
  if (!refresh) return none;
  const usable = refresh.state === "VALID";
  const renewedSinceIncident = !!(connection.incidentAt && access?.lastRefreshedAt && access.lastRefreshedAt > connection.incidentAt);
  if (usable && connection.incident && renewedSinceIncident) return { ...none, recovered: true, horizonWarning: horizon(connection, config, now) };
  if (!usable) return { ...none, expired: connection.incident !== "expired" };
  // Exhausted: nothing automatic until a person reconnects or forces a refresh (seen above as a renewal).
  if (connection.exhaustedAt) return { ...none, horizonWarning: horizon(connection, config, now) };
  let reason: RefreshReason | null = null;
  const accessLeft = access?.state === "VALID" && access.expiresAt ? access.expiresAt.getTime() - now.getTime() : null;
  // The service's own margin rule (capped at half the token's lifetime): a job sent earlier would find nothing to refresh.
  const window = access?.expiresAt ? refreshMarginFor({ expiresAt: access.expiresAt, lastRefreshedAt: access.lastRefreshedAt }, config.refreshAheadMs) : 0;
  if (config.refreshAheadMs > 0 && accessLeft !== null && accessLeft > 0 && accessLeft <= window) reason = "refresh-ahead";
  else if (keepAliveDue(connection, config, now)) reason = "keep-alive";
  // Every connection of the grant paused by an admin: neither refreshed nor kept alive (a grant shared
  // with an enabled connection is not paused). Incidents and warnings are still told.
  return { ...none, refresh: connection.paused ? null : reason, horizonWarning: horizon(connection, config, now) };
}

/** The bounds of the scan's query: every connection `decide` could act on at `now` is within them. */
export function dueCriteria(config: WorkerConfig, now: Date): DueCriteria {
  return {
    now,
    refreshAheadMs: config.refreshAheadMs,
    keepAliveFraction: config.keepAliveFraction,
    minIdleMs: Math.min(config.genericIdleMs, ...Object.values(config.idleMsByProvider)),
    horizonDays: Math.max(0, ...config.horizonWarningDays),
  };
}
