import type { PrismaClient } from "@tokenvault/db";
import type { AuditTrail } from "./audit/audit-trail";
import type { Clock } from "./clock";
import type { ConnectionStore } from "./connections/connection-store";
import type { Logger } from "./logger";
import type { TokenMetrics } from "./metrics/token-metrics";
import { DEFAULT_RETRY } from "./oauth/retry";
import type { ProviderRegistry } from "./providers/registry";
import type { ConnectionEvents } from "./refresh/connection-events";
import type { RefreshOptions } from "./refresh/refresher";
import type { SecretStore } from "./secrets/secret-store";
import type { TokenCache } from "./tokens/token-cache";
import type { RequestContext } from "./types";
import { DEFAULT_REFRESH_SCHEDULE, type RefreshSchedule } from "./views/refresh-schedule";
import type { WebhookDeliveries } from "./webhooks/webhook-deliveries";

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

/**
 * What every module of the service is built from: plain values, made once by TokenService's
 * constructor. The two stores are the only writers of their tables (see each one's header).
 */
export interface ServiceParts {
  prisma: PrismaClient;
  providers: ProviderRegistry;
  connections: ConnectionStore;
  secrets: SecretStore;
  audit: AuditTrail;
  clock: Clock;
  logger: Logger;
  options: TokenServiceOptions;
  /** Prometheus metrics; null: none are recorded. */
  metrics: TokenMetrics | null;
  /** The process's LISTEN connection that wakes waiters; null: waiters poll. */
  events: ConnectionEvents | null;
  /** The webhook outbox: events the service itself raises (a disconnect) are recorded in their transaction. */
  webhooks: WebhookDeliveries;
  /** The warm path's token cache, kept consistent by `events`; null: off (option, or no listener). */
  cache: TokenCache | null;
}

/** The actor of what the service does on its own (marking a token invalid, background work). */
export const SYSTEM: RequestContext = { userId: "system" };
