export { TokenvaultWorker, type WorkerDeps } from "./worker";
export { Jobs, WORKER_USER, type RefreshJobData, type RefreshOutcome, type WorkerService } from "./jobs";
export { DEFAULT_WORKER_CONFIG, type WorkerConfig } from "./config";
export { QUEUES, createBoss, type BossTarget } from "./boss";
export { decide, keepAliveDue, idleLifetimeMs, utcDay, type Decision, type RefreshReason } from "./policy";
export { deliverWebhook, webhookEvent, type WebhookEvent, type WebhookEventType } from "./webhooks";
export { startWorkerFromEnvironment } from "./from-environment";
