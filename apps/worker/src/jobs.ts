import { randomUUID } from "node:crypto";
import type PgBoss from "pg-boss";
import { TokenError, type Clock, type ConnectionRefresh, type Logger, type RevocationRetryReport, type TokenService, type UpkeepConnection, type UpkeepIncident } from "@tokenvault/token";
import type { WorkerConfig } from "./config";
import { KeyedLimiter } from "./limiter";
import { decide, dueCriteria, utcDay, type RefreshReason } from "./policy";
import { QUEUES } from "./boss";
import type { CompanyWebhooks } from "./company-webhooks";
import { deliverWebhook, webhookEvent, type WebhookEvent, type WebhookEventType } from "./webhooks";

/** The actor on audit rows of what the worker does. */
export const WORKER_USER = "system:worker";

export type WorkerService = Pick<TokenService, "refreshConnection" | "upkeep" | "purgeAuditLog" | "purgeExpiredOAuthStates" | "retryPendingRevocations" | "webhooks">;

export interface RefreshJobData {
  connectionId: string;
  reason: RefreshReason;
}

export type RefreshOutcome = "refreshed" | "skipped" | "expired" | "exhausted" | "failed";

export interface JobDeps {
  boss: PgBoss;
  service: WorkerService;
  config: WorkerConfig;
  clock: Clock;
  logger: Logger;
  /** The companies' own webhook endpoints (the delivery log and its queue). */
  companyWebhooks: CompanyWebhooks;
  /** Removes expired entries of the token store (one bounded batch); absent: skipped. */
  storeCleanup?: () => Promise<number>;
}

/** Connections read (and decided) per query of the scan. */
const SCAN_PAGE = 500;
/** Errors that may pass: pg-boss retries the job with backoff. */
const TRANSIENT = new Set(["PROVIDER_UNAVAILABLE", "RATE_LIMITED", "VAULT_UNAVAILABLE"]);
/** Which incidents a new one may replace: each is notified once, and only ever escalates. */
const REPLACES: Record<UpkeepIncident, (UpkeepIncident | null)[]> = {
  refresh_failed: [null],
  exhausted: [null, "refresh_failed"],
  expired: [null, "refresh_failed", "exhausted"],
};

/**
 * What each job does. Every refresh goes through the token service's public API (its lease and
 * fence make it exactly once across processes); this class only decides when, and records the
 * failure streak and the incidents notified through the service's upkeep store.
 */
export class Jobs {
  private readonly limiter = new KeyedLimiter();

  constructor(private readonly deps: JobDeps) {}

  /**
   * The scheduled scan: asks the database for the connections that may be due (index ranges,
   * see dueConnectionsSql), decides per connection, enqueues refreshes, notifies what it shows.
   */
  async scan(): Promise<{ scanned: number; enqueued: number }> {
    const { service, config, clock } = this.deps;
    const ids = await service.upkeep.listDue(dueCriteria(config, clock.now()));
    let scanned = 0;
    let enqueued = 0;
    for (let start = 0; start < ids.length; start += SCAN_PAGE) {
      const page = await service.upkeep.listByIds(ids.slice(start, start + SCAN_PAGE));
      const due: RefreshJobData[] = [];
      for (const connection of page) {
        scanned++;
        const now = clock.now();
        const decision = decide(connection, config, now);
        if (decision.recovered) await this.recovered(connection);
        if (decision.expired && (await this.openIncident(connection, "expired"))) await this.notify("connection.expired", connection);
        if (decision.horizonWarning && (await service.upkeep.markHorizonWarning(connection.grantId, connection.horizonWarning, decision.horizonWarning.marker))) {
          const { daysLeft, hardExpiresAt } = decision.horizonWarning;
          await this.notify("connection.reauthorization_due", connection, { reconnectBefore: hardExpiresAt.toISOString(), daysLeft });
        }
        if (decision.refresh) due.push({ connectionId: connection.id, reason: decision.refresh });
      }
      enqueued += await this.enqueueRefreshes(due);
    }
    if (enqueued > 0) this.deps.logger.info("worker scan", { scanned, enqueued });
    return { scanned, enqueued };
  }

  /** One refresh job per connection at a time (the queue is stately, keyed by the connection). */
  async enqueueRefresh(data: RefreshJobData): Promise<boolean> {
    return (await this.enqueueRefreshes([data])) === 1;
  }

  /**
   * Queues refresh jobs in one statement (a scan may queue thousands: one `send` each took most
   * of a scan's time). A connection that already has a job waiting is skipped by the stately
   * queue's unique index; returns how many were queued.
   */
  async enqueueRefreshes(batch: RefreshJobData[]): Promise<number> {
    if (batch.length === 0) return 0;
    const { boss, config } = this.deps;
    const jobs: PgBoss.JobInsert<RefreshJobData>[] = batch.map((data) => ({
      id: randomUUID(),
      name: QUEUES.refresh,
      data,
      singletonKey: data.connectionId,
      // Seconds from the database's now: pg-boss casts the text to an interval.
      startAfter: String(config.jitterSeconds > 0 ? Math.floor(Math.random() * config.jitterSeconds) : 0),
      retryLimit: config.retryLimit,
      retryDelay: config.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: config.refreshJobExpireSeconds,
    }));
    await boss.insert(jobs);
    // pg-boss's insert does not say which rows the unique index turned away: count ours.
    const { rows } = await boss.getDb().executeSql(`SELECT count(*)::int AS queued FROM pgboss.job WHERE id = ANY($1::uuid[])`, [jobs.map((job) => job.id)]);
    return Number((rows[0] as { queued: number } | undefined)?.queued ?? 0);
  }

  /**
   * One connection's refresh. Succeeds (the job completes) when refreshed, skipped, expired or
   * exhausted; throws only for a failure worth retrying, so pg-boss retries with backoff.
   */
  async refresh(data: RefreshJobData): Promise<RefreshOutcome> {
    const { service, config, clock, logger } = this.deps;
    let result: ConnectionRefresh;
    try {
      // One read by id, then (inside this process's concurrency limits) the refresh, awaited:
      // getValidToken would refresh in the background, out of our sight. The answer says what
      // happened, so nothing is read back.
      result = await service.refreshConnection(data.connectionId, data.reason, {
        context: { userId: WORKER_USER },
        marginMs: config.refreshAheadMs,
        around: (connection, refresh) => (this.eligible(connection, data.reason) ? this.limiter.run(this.slotsOf(connection), refresh) : Promise.resolve()),
      });
    } catch (error) {
      // Removed since the scan (or an id that names no connection): nothing to do. Anything else
      // (a database outage: VAULT_UNAVAILABLE) fails the job, and pg-boss retries it.
      if (error instanceof TokenError && (error.code === "NO_TOKEN" || error.code === "INVALID_INPUT")) return "skipped";
      throw error;
    }
    const { connection } = result;
    // Refreshed since the scan (a caller, another worker), or not eligible: nothing to do.
    if (result.outcome === "skipped" || result.outcome === "fresh") return "skipped";
    if (result.outcome === "refreshed") {
      if (connection.refreshFailureDays > 0 || connection.incident) await this.recovered(connection);
      return "refreshed";
    }
    if (result.outcome === "reauth_required") {
      // invalid_grant: the grant is over. No retry; one notification.
      if (await this.openIncident(connection, "expired")) await this.notify("connection.expired", connection, { reason: "REAUTH_REQUIRED" });
      return "expired";
    }
    // During the cooldown after a failure the service serves the still-valid token without
    // asking the provider: that is not a recovery, and the job must try again later.
    const error = result.error ?? new TokenError("PROVIDER_UNAVAILABLE", "The provider failed a moment ago; the refresh waits for its cooldown.");
    const { failureDays, exhausted } = await service.upkeep.countFailureDay(connection.grantId, utcDay(clock.now()), config.exhaustAfterDays, clock.now());
    logger.warn("worker refresh failed", { provider: connection.provider, companyId: connection.companyId, code: error.code, failureDays, exhausted });
    if (exhausted) {
      if (await this.openIncident(connection, "exhausted")) await this.notify("connection.exhausted", connection, { failureDays, reason: error.code });
      return "exhausted";
    }
    if (await this.openIncident(connection, "refresh_failed")) await this.notify("connection.refresh_failed", connection, { failureDays, reason: error.code });
    if (TRANSIENT.has(error.code)) throw error;
    return "failed";
  }

  /** Delivers one event to the environment's global endpoint; throws on failure so pg-boss retries it. */
  async deliver(event: WebhookEvent): Promise<void> {
    const endpoint = this.deps.config.webhook;
    if (!endpoint) return;
    await deliverWebhook(endpoint, event);
  }

  /** Hourly upkeep of the database: token store entries, expired OAuth states, audit and webhook log retention. */
  async housekeeping(): Promise<{ storeRemoved: number | null; oauthStatesPurged: number; auditPurged: number | null; webhookDeliveriesPurged: number }> {
    const { config, clock, service, storeCleanup, logger } = this.deps;
    const storeRemoved = storeCleanup ? await storeCleanup() : null;
    const oauthStatesPurged = await service.purgeExpiredOAuthStates();
    const auditPurged = config.auditRetentionDays ? await service.purgeAuditLog(new Date(clock.now().getTime() - config.auditRetentionDays * 86_400_000)) : null;
    const webhookDeliveriesPurged = await service.webhooks.deliveries.purgeFinished(new Date(clock.now().getTime() - config.webhookLogRetentionDays * 86_400_000));
    logger.info("worker housekeeping", { storeRemoved, oauthStatesPurged, auditPurged, webhookDeliveriesPurged });
    return { storeRemoved, oauthStatesPurged, auditPurged, webhookDeliveriesPurged };
  }

  /** Revokes (at the provider) the replaced grants a reconnect could not; rows not yet due wait for their back-off. */
  async retryRevocations(): Promise<RevocationRetryReport> {
    const report = await this.deps.service.retryPendingRevocations(this.deps.config.revocationRetryBatch);
    if (report.attempted > 0) this.deps.logger.info("worker revocation retry", { ...report });
    return report;
  }

  /** Exhausted, or no usable refresh token: nothing automatic. A refresh-ahead refreshed since the scan: nothing to do. */
  private eligible(connection: UpkeepConnection, reason: RefreshReason): boolean {
    if (connection.exhaustedAt || connection.refresh?.state !== "VALID") return false;
    return reason !== "refresh-ahead" || this.stillDue(connection);
  }

  private stillDue(connection: UpkeepConnection): boolean {
    const expiresAt = connection.access?.expiresAt;
    return !expiresAt || expiresAt.getTime() - this.deps.clock.now().getTime() <= this.deps.config.refreshAheadMs;
  }

  /** This process's concurrency limits: per provider, and per tenant of a provider. */
  private slotsOf({ provider, externalId }: UpkeepConnection): { key: string; limit: number }[] {
    const { config } = this.deps;
    return [
      { key: `provider:${provider}`, limit: config.providerConcurrency[provider] ?? config.defaultProviderConcurrency },
      { key: `tenant:${provider}:${externalId}`, limit: config.tenantConcurrency[provider] ?? config.defaultTenantConcurrency },
    ];
  }

  private async recovered(connection: UpkeepConnection): Promise<void> {
    const was = await this.deps.service.upkeep.recover(connection.grantId);
    if (was) await this.notify("connection.recovered", connection, { previousIncident: was });
  }

  private async openIncident(connection: UpkeepConnection, incident: UpkeepIncident): Promise<boolean> {
    return this.deps.service.upkeep.openIncident(connection.grantId, incident, REPLACES[incident]);
  }

  /**
   * Queues signed webhook deliveries (with retries): one per enabled endpoint of the connection's
   * company, and one to the environment's global endpoint when configured.
   */
  private async notify(type: WebhookEventType, connection: UpkeepConnection, extra: Record<string, string | number | null> = {}): Promise<void> {
    const { config, boss, logger, clock, companyWebhooks } = this.deps;
    logger.info("worker event", { type, provider: connection.provider, companyId: connection.companyId });
    // An event about a grant is about every connection it serves (the organisations of one consent): one event each.
    const reached = connection.connections.length > 0 ? connection.connections : [{ id: connection.id, externalId: connection.externalId }];
    for (const one of reached) {
      const event = webhookEvent(type, { ...connection, ...one }, clock.now(), extra);
      await companyWebhooks.publish(connection.companyId, { type: event.type, timestamp: event.timestamp, data: event.data });
      if (!config.webhook) continue;
      await boss.send(QUEUES.webhook, event, { retryLimit: config.webhookRetryLimit, retryDelay: config.webhookRetryDelaySeconds, retryBackoff: true, expireInSeconds: 60 });
    }
  }
}
