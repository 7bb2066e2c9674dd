// The service's options, their defaults and the values shared across the service: the lowest
// floor of src, importing nothing of it but types.ts, so every module can depend on it.
import type { RequestContext } from "./types";

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2_000 };

/**
 * The worker's schedule, which the dashboard's next refresh shows too: refresh-ahead window
 * (WORKER_REFRESH_AHEAD_SECONDS), keep-alive fraction (half the idle life) and the idle lifetime
 * of a refresh token nobody documents (WORKER_GENERIC_IDLE_DAYS).
 */
export interface RefreshSchedule {
  /** Refresh access tokens that expire within this many ms; 0 turns refresh-ahead off. */
  refreshAheadMs: number;
  /** Refresh once this fraction of the refresh token's idle lifetime has passed (at most 0.5). */
  keepAliveFraction: number;
  /** Idle lifetime of a refresh token when neither the provider's response nor its definition says (generic providers). */
  genericIdleMs: number;
}

export const DEFAULT_REFRESH_SCHEDULE: RefreshSchedule = { refreshAheadMs: 10 * 60 * 1000, keepAliveFraction: 0.5, genericIdleMs: 30 * 24 * 3600 * 1000 };

/** The schedule from the kit's refreshScheduleEnv() (read once there, for the worker and the token service alike). */
export function refreshScheduleOf(env: { WORKER_REFRESH_AHEAD_SECONDS?: number; WORKER_GENERIC_IDLE_DAYS?: number }): RefreshSchedule {
  const d = DEFAULT_REFRESH_SCHEDULE;
  return {
    ...d,
    refreshAheadMs: env.WORKER_REFRESH_AHEAD_SECONDS !== undefined ? env.WORKER_REFRESH_AHEAD_SECONDS * 1000 : d.refreshAheadMs,
    genericIdleMs: env.WORKER_GENERIC_IDLE_DAYS !== undefined ? env.WORKER_GENERIC_IDLE_DAYS * 86_400_000 : d.genericIdleMs,
  };
}

/**
 * Days before a grant's hard expiry (Xero's, QuickBooks' 5 years) on which people are told to
 * reconnect: the worker sends a warning event on each, the dashboard shows "Reconnect before"
 * from the first. Declared once so both say the same.
 */
export const RECONNECT_NOTICE_DAYS: readonly number[] = [30, 7];

export interface RefreshOptions {
  /**
   * How long a refresh lease lasts without a heartbeat. The holder extends it while its provider
   * call is in flight, so a crashed holder is replaced within about this long.
   */
  leaseMs: number;
  /** How often the holder extends its lease. Default: a third of leaseMs. */
  leaseHeartbeatMs?: number;
  /** The longest one refresh (provider call with its retries) may take; waiters give up after it and a lease. */
  refreshBudgetMs: number;
  /** Timeout of one provider HTTP call. Shorter than the lease. */
  providerTimeoutMs: number;
  /** After a refresh fails for provider reasons, no new attempt for this long. */
  cooldownMs: number;
  retry: RetryPolicy;
  /** How often a caller waiting for another process's refresh re-reads the connection when no listener wakes it (first interval; it backs off to 20 ms). */
  waitPollMs: number;
}

export interface TokenServiceOptions extends RefreshOptions {
  /** Refresh when the access token expires within this margin. Default 5 minutes. */
  refreshMarginMs: number;
  /**
   * Live checks of one connection within this window share one provider call: later callers get
   * the result recorded by the first (in process, and across processes through ConnectionHealth).
   * Default 10 s; 0 turns coalescing across time off (concurrent callers still share one call).
   */
  checkCoalesceMs: number;
  /** The redirect URI registered with providers: consent requests and SDK clients. */
  redirectUriFor: (provider: string) => string;
  /** The background worker's schedule, for the next refresh the dashboard shows. */
  refreshSchedule: RefreshSchedule;
  /**
   * Webhook URLs may name loopback, link-local and private addresses. Default false (production);
   * the default service turns it on in development and test only (see webhooks/url-policy.ts).
   */
  allowPrivateWebhookTargets: boolean;
  /** Webhook endpoints a company may have; creating one more is refused. Default 10 (WEBHOOK_MAX_ENDPOINTS). */
  maxWebhookEndpoints: number;
  /**
   * Serve warm getValidToken calls from the process's token cache (tokens/token-cache.ts). Only
   * ever active while the service's LISTEN connection is up (never on the embedded database).
   * Default true; TOKEN_CACHE=off in the environment turns it off.
   */
  tokenCache: boolean;
  /**
   * After this process's event loop was held up longer than this (a long synchronous task, CPU
   * starvation), the token cache serves nothing until the loop has read its sockets again: a
   * notification may be waiting unread in the listener's. Default 20 ms, within the 50 ms a
   * token changed elsewhere may still be served.
   */
  tokenCacheStallMs: number;
  /**
   * The LISTEN connection's heartbeat: a NOTIFY to its own channel this often (default 5 s). With
   * no echo for `listenerHeartbeatTimeoutMs` (default 10 s) it is given up and replaced, and the
   * token cache, which serves only while the last echo is that recent, is cleared meanwhile.
   */
  listenerHeartbeatMs: number;
  listenerHeartbeatTimeoutMs: number;
}

export const DEFAULT_OPTIONS: TokenServiceOptions = {
  refreshMarginMs: 5 * 60 * 1000,
  leaseMs: 5_000,
  refreshBudgetMs: 20_000,
  providerTimeoutMs: 5_000,
  cooldownMs: 30_000,
  retry: DEFAULT_RETRY,
  waitPollMs: 5,
  checkCoalesceMs: 10_000,
  redirectUriFor: (provider) => `http://localhost:3000/api/oauth/${provider}/callback`,
  refreshSchedule: DEFAULT_REFRESH_SCHEDULE,
  allowPrivateWebhookTargets: false,
  maxWebhookEndpoints: 10,
  tokenCache: true,
  tokenCacheStallMs: 20,
  listenerHeartbeatMs: 5_000,
  listenerHeartbeatTimeoutMs: 10_000,
};

/** The actor of what the service does on its own (marking a token invalid, background work). */
export const SYSTEM: RequestContext = { userId: "system" };
