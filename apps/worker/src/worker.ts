import type PgBoss from "pg-boss";
import { isDatabaseUnavailable } from "@tokenvault/db";
import { consoleLogger, systemClock, type Clock, type Logger } from "@tokenvault/token";
import { createBoss, QUEUES, type BossTarget } from "./boss";
import type { BossDatabase } from "./boss-database";
import { CompanyWebhooks, type CompanyWebhookJob } from "./company-webhooks";
import type { WorkerConfig } from "./config";
import { Jobs, type RefreshJobData, type WorkerService } from "./jobs";
import type { WebhookEvent } from "./webhooks";

export interface WorkerDeps {
  /** Where pg-boss keeps its jobs: the app's database. */
  target: BossTarget;
  service: WorkerService;
  config: WorkerConfig;
  clock?: Clock;
  logger?: Logger;
  storeCleanup?: () => Promise<number>;
}

/**
 * The background worker: pg-boss queues in the app's database, a scan on a schedule that
 * enqueues one refresh job per due connection, the refresh, webhook, housekeeping and
 * revocation-retry workers.
 * start() and stop() are the whole lifecycle; the process entry (main.ts) wires the signals.
 */
export class TokenvaultWorker {
  readonly boss: PgBoss;
  readonly jobs: Jobs;
  readonly companyWebhooks: CompanyWebhooks;
  private readonly logger: Logger;
  /** pg-boss's pool on PostgreSQL (null on PGlite): closed by stop(), after pg-boss. */
  private readonly database: BossDatabase | null;
  private started = false;
  private outboxTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: WorkerDeps) {
    this.logger = deps.logger ?? consoleLogger;
    ({ boss: this.boss, database: this.database } = createBoss(deps.target, { maintenanceIntervalSeconds: deps.config.maintenanceIntervalSeconds, logger: this.logger }));
    // pg-boss reports its own failures (a failed poll, a failed maintenance) as events; never crash on them.
    // While the database is lost every loop fails each turn: BossDatabase logs the loss and the return once instead.
    this.boss.on("error", (error) => {
      if (isDatabaseUnavailable(error) && (this.database?.unreachable ?? false)) return;
      this.logger.error("pg-boss error", { error: error.message.slice(0, 200) });
    });
    const clock = deps.clock ?? systemClock;
    this.companyWebhooks = new CompanyWebhooks({ boss: this.boss, webhooks: deps.service.webhooks, config: deps.config, clock, logger: this.logger });
    this.jobs = new Jobs({ boss: this.boss, service: deps.service, config: deps.config, clock, logger: this.logger, storeCleanup: deps.storeCleanup, companyWebhooks: this.companyWebhooks });
  }

  /** Installs or migrates pg-boss's schema, creates the queues and schedules, and starts working. */
  async start(options: { schedule?: boolean } = {}): Promise<void> {
    const { config } = this.deps;
    await this.boss.start();
    this.started = true;
    await this.createQueue(QUEUES.scan, { policy: "singleton" });
    await this.createQueue(QUEUES.refresh, { policy: "stately" });
    await this.createQueue(QUEUES.webhook, { policy: "standard" });
    await this.createQueue(QUEUES.companyWebhook, { policy: "standard" });
    await this.createQueue(QUEUES.housekeeping, { policy: "singleton" });
    await this.createQueue(QUEUES.revocations, { policy: "singleton" });
    if (options.schedule !== false) {
      await this.boss.schedule(QUEUES.scan, config.scanCron, {}, { tz: "UTC" });
      await this.boss.schedule(QUEUES.housekeeping, config.housekeepingCron, {}, { tz: "UTC" });
      await this.boss.schedule(QUEUES.revocations, config.revocationRetryCron, {}, { tz: "UTC" });
    }
    const polling = { pollingIntervalSeconds: config.pollingIntervalSeconds, batchSize: 1 };
    await this.boss.work(QUEUES.scan, polling, async () => this.jobs.scan());
    for (let i = 0; i < config.concurrency; i++) {
      await this.workWhileBusy<RefreshJobData>(QUEUES.refresh, polling, async (job) => ({ outcome: await this.jobs.refresh(job.data) }));
    }
    await this.workWhileBusy<WebhookEvent>(QUEUES.webhook, polling, async (job) => this.jobs.deliver(job.data));
    await this.workWhileBusy<CompanyWebhookJob>(QUEUES.companyWebhook, polling, async (job) => ({ outcome: await this.companyWebhooks.deliver(job.data) }));
    await this.boss.work(QUEUES.housekeeping, polling, async () => this.jobs.housekeeping());
    await this.boss.work(QUEUES.revocations, polling, async () => this.jobs.retryRevocations());
    // Deliveries the web process recorded (disconnects, test events) wait in the outbox until moved into the queue.
    this.outboxTimer = setInterval(() => void this.pumpOutbox(), config.webhookOutboxPollMs);
    this.outboxTimer.unref();
    this.logger.info("worker started", { concurrency: config.concurrency, scanCron: config.scanCron, webhooks: config.webhook !== null });
  }

  /** Stops fetching, waits for jobs in progress (up to stopTimeoutMs; unfinished ones fail and are retried), closes pg-boss's pool. */
  async stop(): Promise<void> {
    const wasStarted = this.started;
    this.started = false;
    if (this.outboxTimer) clearInterval(this.outboxTimer);
    this.outboxTimer = null;
    try {
      // Also when only boss.start() ran (tests drive pg-boss directly); a pg-boss never started returns at once.
      await this.boss.stop({ graceful: true, wait: true, close: true, timeout: this.deps.config.stopTimeoutMs });
    } catch (error) {
      this.logger.error("pg-boss stop failed", { error: error instanceof Error ? error.message.slice(0, 200) : "unknown" });
    }
    await this.database?.close();
    if (wasStarted) this.logger.info("worker stopped");
  }

  private async pumpOutbox(): Promise<void> {
    try {
      await this.companyWebhooks.pump();
    } catch (error) {
      if (isDatabaseUnavailable(error) && (this.database?.unreachable ?? false)) return; // logged once as "database unreachable"
      this.logger.error("webhook outbox failed", { error: error instanceof Error ? error.message.slice(0, 200) : "unknown" });
    }
  }

  /**
   * One worker slot of a queue that may hold many jobs. pg-boss waits its polling interval after
   * every fetch, even one that found a job; the slot wakes itself after each job, so a busy queue
   * drains as fast as its slots allow and only an empty one waits the interval.
   */
  private async workWhileBusy<T>(queue: string, options: PgBoss.WorkOptions, handler: (job: PgBoss.Job<T>) => Promise<unknown>): Promise<void> {
    let workerId = "";
    workerId = await this.boss.work<T>(queue, options, async ([job]) => {
      if (!job) return null;
      try {
        return await handler(job);
      } finally {
        this.boss.notifyWorker(workerId);
      }
    });
  }

  /**
   * Workers starting together on a fresh database create the same queues at once: pg-boss
   * attaches each queue's partition to its job table, and PostgreSQL may end one of two such
   * transactions as a deadlock (40P01). It rolled back, so it is tried again.
   */
  private async createQueue(name: string, options: Omit<PgBoss.Queue, "name">): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (await this.boss.getQueue(name)) return;
      try {
        await this.boss.createQueue(name, { name, ...options });
        return;
      } catch (error) {
        if (attempt >= 5 || (error as { code?: unknown }).code !== "40P01") throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 50));
      }
    }
  }
}
