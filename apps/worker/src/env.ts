import { isIP } from "node:net";
import { createEnv } from "@t3-oss/env-core";
import { dbEnv, resetDbEnvCacheForTests } from "@tokenvault/db";
import { envSource, kitEnv, optionalHttpUrl, optionalText, refreshScheduleEnv, runtimeMode, type RuntimeMode } from "@tokenvault/kit";
import { refreshScheduleOf } from "@tokenvault/token";
import { z } from "zod";
import { KeyConfigError } from "@tokenvault/vault";
import { DEFAULT_WORKER_CONFIG, type WorkerConfig } from "./config";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();

/** The only place the worker reads the environment, on the kit's (runtime mode; the refresh schedule, which the token service reads the same). */
function readEnv() {
  return createEnv({
    extends: [kitEnv(), refreshScheduleEnv()],
    server: {
      WORKER_CONCURRENCY: int(1, 64),
      WORKER_SCAN_CRON: optionalText,
      WORKER_HOUSEKEEPING_CRON: optionalText,
      WORKER_REVOCATION_RETRY_CRON: optionalText,
      WORKER_EXHAUST_AFTER_DAYS: int(1, 365),
      WORKER_JITTER_SECONDS: int(0, 3600),
      WORKER_PROVIDER_CONCURRENCY: int(1, 100),
      WEBHOOK_URL: optionalHttpUrl,
      // Standard Webhooks secret: "whsec_" and base64.
      WEBHOOK_SECRET: optionalText.refine((v) => v === undefined || /^whsec_[A-Za-z0-9+/=]{24,}$/.test(v), { message: "must be whsec_ followed by base64 (24+ characters)" }),
      AUDIT_RETENTION_DAYS: int(1, 36_500),
      WORKER_METRICS_PORT: int(1, 65_535),
      METRICS_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 24, { message: "must be at least 24 characters" }),
      // The metrics listener's address: loopback unless an operator opens it (e.g. 0.0.0.0 for a scraper elsewhere).
      WORKER_METRICS_HOST: optionalText.refine((v) => v === undefined || isIP(v) !== 0 || /^[A-Za-z0-9.-]{1,253}$/.test(v), { message: "must be an IP address or a host name" }),
    },
    ...envSource("worker", KeyConfigError.fromEnv),
  });
}

export interface WorkerEnv {
  config: WorkerConfig;
  runtime: RuntimeMode;
  /** The PostgreSQL server's URL, or null on the embedded database. */
  databaseUrl: string | null;
  /** Prometheus metrics served on WORKER_METRICS_HOST (default 127.0.0.1):WORKER_METRICS_PORT to a METRICS_TOKEN bearer; null: no listener. */
  metrics: { port: number; token: string; host: string } | null;
}

let parsed: WorkerEnv | undefined;

/** Forgets the parsed environment here and in @tokenvault/db (tests that change process.env). */
export function resetWorkerEnvCacheForTests(): void {
  parsed = undefined;
  resetDbEnvCacheForTests();
}

/** The worker's settings; a bad value throws KeyConfigError naming the variable, never echoing it. */
export function workerEnv(): WorkerEnv {
  if (parsed) return parsed;
  const env = readEnv();
  if ((env.WEBHOOK_URL === undefined) !== (env.WEBHOOK_SECRET === undefined)) {
    throw new KeyConfigError(env.WEBHOOK_URL === undefined ? "WEBHOOK_URL" : "WEBHOOK_SECRET", "must be set together with the other (WEBHOOK_URL and WEBHOOK_SECRET).");
  }
  if (env.WORKER_METRICS_PORT !== undefined && env.METRICS_TOKEN === undefined) {
    throw new KeyConfigError("METRICS_TOKEN", "must be set when WORKER_METRICS_PORT is (scrapers present it as a bearer token).");
  }
  const d = DEFAULT_WORKER_CONFIG;
  const providerConcurrency = env.WORKER_PROVIDER_CONCURRENCY;
  const runtime = runtimeMode();
  parsed = {
    runtime,
    databaseUrl: dbEnv().databaseUrl ?? null,
    metrics: env.WORKER_METRICS_PORT !== undefined && env.METRICS_TOKEN !== undefined ? { port: env.WORKER_METRICS_PORT, token: env.METRICS_TOKEN, host: env.WORKER_METRICS_HOST ?? "127.0.0.1" } : null,
    config: {
      ...d,
      concurrency: env.WORKER_CONCURRENCY ?? d.concurrency,
      scanCron: env.WORKER_SCAN_CRON ?? d.scanCron,
      housekeepingCron: env.WORKER_HOUSEKEEPING_CRON ?? d.housekeepingCron,
      revocationRetryCron: env.WORKER_REVOCATION_RETRY_CRON ?? d.revocationRetryCron,
      ...refreshScheduleOf(env),
      exhaustAfterDays: env.WORKER_EXHAUST_AFTER_DAYS ?? d.exhaustAfterDays,
      jitterSeconds: env.WORKER_JITTER_SECONDS ?? d.jitterSeconds,
      ...(providerConcurrency !== undefined ? { providerConcurrency: {}, defaultProviderConcurrency: providerConcurrency } : {}),
      webhook: env.WEBHOOK_URL && env.WEBHOOK_SECRET ? { url: env.WEBHOOK_URL, secret: env.WEBHOOK_SECRET } : null,
      auditRetentionDays: env.AUDIT_RETENTION_DAYS ?? null,
      // Company endpoints on the internal network: a local receiver in development, never in production.
      allowPrivateWebhookTargets: runtime.development,
    },
  };
  return parsed;
}
