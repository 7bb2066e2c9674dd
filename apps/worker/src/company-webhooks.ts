import type PgBoss from "pg-boss";
import { DecryptionError, type Clock, type Logger, type TokenService, type WebhookPayload } from "@tokenvault/token";
import { QUEUES } from "./boss";
import type { WorkerConfig } from "./config";
import { sendWebhook, WebhookDeliveryError } from "./webhooks";

export interface CompanyWebhookJob {
  deliveryId: string;
}

export interface CompanyWebhooksDeps {
  boss: PgBoss;
  webhooks: TokenService["webhooks"];
  config: WorkerConfig;
  clock: Clock;
  logger: Logger;
}

/** Outbox rows moved into the queue per batch. */
const BATCH = 100;

/** The earliest time of the retry after `attempts` failed ones: pg-boss waits retryDelay × 2^(n-1), plus up to as much again at random. */
export function nextRetryAt(now: Date, attempts: number, retryDelaySeconds: number): Date {
  return new Date(now.getTime() + retryDelaySeconds * 1000 * 2 ** Math.min(16, Math.max(0, attempts - 1)));
}

/**
 * The companies' webhook endpoints. An event is recorded as one WebhookDelivery row per enabled
 * endpoint (the outbox; the web process records disconnects and test events the same way);
 * `pump` turns each row into one pg-boss job whose id is the row's id, so sending it twice is a
 * no-op; each attempt reports to the row, and a failure throws so pg-boss retries it with
 * exponential backoff (retryLimit chosen to span more than 24 hours).
 */
export class CompanyWebhooks {
  private pumping: Promise<number> | null = null;

  constructor(private readonly deps: CompanyWebhooksDeps) {}

  /** Records the event for every enabled endpoint of the company and queues it at once. */
  async publish(companyId: string, payload: WebhookPayload): Promise<number> {
    const ids = await this.deps.webhooks.deliveries.record(companyId, payload);
    if (ids.length > 0) await this.pump();
    return ids.length;
  }

  /** Moves the outbox into the job queue; one run at a time in this process. Returns how many rows it queued. */
  pump(): Promise<number> {
    this.pumping ??= this.drain().finally(() => (this.pumping = null));
    return this.pumping;
  }

  private async drain(): Promise<number> {
    const { boss, config, webhooks } = this.deps;
    let queued = 0;
    for (;;) {
      const ids = await webhooks.deliveries.unqueued(BATCH);
      for (const id of ids) {
        await boss.send(QUEUES.companyWebhook, { deliveryId: id } satisfies CompanyWebhookJob, {
          id,
          retryLimit: config.webhookRetryLimit,
          retryDelay: config.webhookRetryDelaySeconds,
          retryBackoff: true,
          expireInSeconds: 60,
        });
      }
      await webhooks.deliveries.markQueued(ids);
      queued += ids.length;
      if (ids.length < BATCH) return queued;
    }
  }

  /** One attempt of one delivery; throws (so pg-boss retries) while attempts remain. */
  async deliver(job: CompanyWebhookJob): Promise<"delivered" | "failed" | "cancelled" | "skipped"> {
    const { webhooks, config, clock, logger } = this.deps;
    const delivery = await webhooks.deliveries.get(job.deliveryId);
    if (!delivery || delivery.deliveredAt || (delivery.attempts > 0 && delivery.nextAttemptAt === null)) return "skipped";
    let target: Awaited<ReturnType<typeof webhooks.endpoints.target>>;
    try {
      target = await webhooks.endpoints.target(delivery.endpointId);
    } catch (error) {
      // Its vault key was removed (or the row altered): retrying cannot help, and the log says why.
      if (!(error instanceof DecryptionError)) throw error;
      logger.error("webhook endpoint secret could not be opened", { endpointId: delivery.endpointId, reason: error.reason });
      await webhooks.deliveries.cancel(delivery.id, "The endpoint's signing secret could not be opened: add it again.");
      return "cancelled";
    }
    if (!target?.enabled) {
      await webhooks.deliveries.cancel(delivery.id, target ? "The endpoint is paused." : "The endpoint was removed.");
      return "cancelled";
    }
    const attempts = delivery.attempts + 1;
    const payload = delivery.payload as unknown as WebhookPayload;
    try {
      const status = await sendWebhook(target, delivery.id, payload, { allowPrivateNetworks: config.allowPrivateWebhookTargets });
      await webhooks.deliveries.recordAttempt(delivery.id, { status, delivered: true, error: null, nextAttemptAt: null });
      return "delivered";
    } catch (error) {
      const status = error instanceof WebhookDeliveryError ? error.status : 0;
      const reason = error instanceof WebhookDeliveryError ? error.message : "The delivery could not be attempted.";
      const last = attempts > config.webhookRetryLimit;
      const nextAttemptAt = last ? null : nextRetryAt(clock.now(), attempts, config.webhookRetryDelaySeconds);
      await webhooks.deliveries.recordAttempt(delivery.id, { status, delivered: false, error: reason, nextAttemptAt });
      logger.warn("webhook delivery failed", { companyId: delivery.companyId, endpointId: delivery.endpointId, type: delivery.eventType, attempts, status, last });
      if (last) return "failed";
      throw error;
    }
  }
}
