import { BUILT_IN_UPKEEP_FACTS, DEFAULT_REFRESH_SCHEDULE, GENERIC_PROVIDER_DEFAULTS, RECONNECT_NOTICE_DAYS, type UpkeepFacts } from "@tokenvault/token";

/** Everything the worker decides with: plain values, so tests build their own. */
export interface WorkerConfig {
  /** Refresh jobs handled at once by this process. */
  concurrency: number;
  /** The scan's schedule (cron, UTC; pg-boss runs it once per minute at most). */
  scanCron: string;
  /** Housekeeping's schedule (cron, UTC). */
  housekeepingCron: string;
  /** When the revocations a reconnect could not complete are retried (cron, UTC). */
  revocationRetryCron: string;
  /** Pending revocations attempted per run, at most (the rest wait for the next run). */
  revocationRetryBatch: number;
  /** Refresh access tokens that are still valid but expire within this many ms; 0 turns refresh-ahead off. */
  refreshAheadMs: number;
  /** Refresh a grant once this fraction of its refresh token's idle lifetime has passed (at most 0.5). */
  keepAliveFraction: number;
  /** Idle lifetime of a refresh token when neither the provider nor the adapter says (generic providers). */
  genericIdleMs: number;
  /** Idle lifetimes by provider, used when the stored refresh token has no expiry (the token package's provider definitions). */
  idleMsByProvider: Record<string, number>;
  /** Failing days after which a connection is exhausted and no longer refreshed automatically. */
  exhaustAfterDays: number;
  /** Refresh jobs start up to this many seconds late, at random, so a scan does not burst. */
  jitterSeconds: number;
  /** Refreshes in flight per provider in this process (the token package's provider definitions). */
  providerConcurrency: Record<string, number>;
  defaultProviderConcurrency: number;
  /** Refreshes in flight per tenant / realm (the token package's provider definitions). */
  tenantConcurrency: Record<string, number>;
  defaultTenantConcurrency: number;
  /** pg-boss retries of a failed refresh job: count and first delay (doubling). */
  retryLimit: number;
  retryDelaySeconds: number;
  /** A refresh job still active after this many seconds is failed by pg-boss's maintenance and retried (its process died mid-job). */
  refreshJobExpireSeconds: number;
  /** How often pg-boss's maintenance runs (expires jobs of dead processes, archives); shared by every worker through its database. */
  maintenanceIntervalSeconds: number;
  /** Warn this many days before a grant's hard expiry, largest first. */
  horizonWarningDays: number[];
  /** Signed webhooks: where and with which secret (Standard Webhooks, `whsec_...`); null: none sent. */
  webhook: { url: string; secret: string } | null;
  /** Retries of a webhook delivery (env and company endpoints): count and first delay (doubling). */
  webhookRetryLimit: number;
  webhookRetryDelaySeconds: number;
  /** How often the outbox of company deliveries (disconnects, test events from the web) is moved into the queue. */
  webhookOutboxPollMs: number;
  /** Company endpoints may be on loopback, link-local and private addresses: development and test only. */
  allowPrivateWebhookTargets: boolean;
  /** Finished webhook deliveries older than this many days leave the delivery log (housekeeping). */
  webhookLogRetentionDays: number;
  /** Audit rows older than this many days are purged by housekeeping; null: kept forever. */
  auditRetentionDays: number | null;
  /** How often an idle pg-boss worker looks for jobs. */
  pollingIntervalSeconds: number;
  /** How long a graceful stop waits for jobs in progress. */
  stopTimeoutMs: number;
}

export const DEFAULT_WORKER_CONFIG: WorkerConfig = {
  concurrency: 4,
  scanCron: "* * * * *",
  housekeepingCron: "17 * * * *",
  revocationRetryCron: "*/5 * * * *",
  revocationRetryBatch: 100,
  ...DEFAULT_REFRESH_SCHEDULE,
  // Provider facts are the token package's: the built-in providers here, the deployment's (configured OIDC ones too) at start-up.
  idleMsByProvider: BUILT_IN_UPKEEP_FACTS.idleMsByProvider,
  exhaustAfterDays: 4,
  jitterSeconds: 30,
  providerConcurrency: BUILT_IN_UPKEEP_FACTS.providerConcurrency,
  defaultProviderConcurrency: GENERIC_PROVIDER_DEFAULTS.limits.concurrency,
  tenantConcurrency: BUILT_IN_UPKEEP_FACTS.tenantConcurrency,
  defaultTenantConcurrency: GENERIC_PROVIDER_DEFAULTS.limits.tenantConcurrency,
  retryLimit: 4,
  retryDelaySeconds: 30,
  refreshJobExpireSeconds: 120,
  maintenanceIntervalSeconds: 120,
  horizonWarningDays: [...RECONNECT_NOTICE_DAYS],
  webhook: null,
  // pg-boss waits 60 s × 2^(n-1) (plus up to as much again at random) before retry n: 11 retries
  // span at least 60 × (2^11 - 1) s ≈ 34 hours, so an endpoint down for a day still gets the event.
  webhookRetryLimit: 11,
  webhookRetryDelaySeconds: 60,
  webhookOutboxPollMs: 2_000,
  allowPrivateWebhookTargets: false,
  webhookLogRetentionDays: 30,
  auditRetentionDays: null,
  pollingIntervalSeconds: 2,
  stopTimeoutMs: 8_000,
};

/**
 * The config with this deployment's provider facts (service.providerUpkeepFacts(): built-in and
 * configured OIDC providers). An empty providerConcurrency means WORKER_PROVIDER_CONCURRENCY set
 * one limit for every provider, which stays so.
 */
export function withProviderFacts(config: WorkerConfig, facts: UpkeepFacts): WorkerConfig {
  const overridden = Object.keys(config.providerConcurrency).length === 0;
  return {
    ...config,
    idleMsByProvider: { ...config.idleMsByProvider, ...facts.idleMsByProvider },
    providerConcurrency: overridden ? {} : { ...config.providerConcurrency, ...facts.providerConcurrency },
    tenantConcurrency: { ...config.tenantConcurrency, ...facts.tenantConcurrency },
  };
}
