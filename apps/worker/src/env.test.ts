import { afterEach, describe, expect, it } from "vitest";
import { refreshScheduleFromEnv, resetTokenEnvCacheForTests } from "@tokenvault/token";
import { KeyConfigError } from "@tokenvault/vault";
import { resetWorkerEnvCacheForTests, workerEnv } from "./env";

const NAMES = ["WORKER_EXHAUST_AFTER_DAYS", "WORKER_REFRESH_AHEAD_SECONDS", "WEBHOOK_URL", "WEBHOOK_SECRET", "AUDIT_RETENTION_DAYS", "WORKER_REVOCATION_RETRY_CRON", "DATABASE_URL", "WORKER_METRICS_PORT", "METRICS_TOKEN", "WORKER_METRICS_HOST"];
const saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));

function withEnv(values: Record<string, string | undefined>) {
  for (const name of NAMES) {
    const value = name in values ? values[name] : undefined;
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  resetWorkerEnvCacheForTests();
}

afterEach(() => withEnv(saved));

describe("workerEnv", () => {
  it("reads the refresh schedule as the token service does (the dashboard's next refresh): WORKER_REFRESH_AHEAD_SECONDS and WORKER_GENERIC_IDLE_DAYS", () => {
    const savedIdle = process.env.WORKER_GENERIC_IDLE_DAYS;
    try {
      withEnv({ WORKER_REFRESH_AHEAD_SECONDS: "120" });
      process.env.WORKER_GENERIC_IDLE_DAYS = "10";
      resetWorkerEnvCacheForTests();
      resetTokenEnvCacheForTests();
      const { config } = workerEnv();
      expect([config.refreshAheadMs, config.genericIdleMs]).toEqual([120_000, 10 * 86_400_000]);
      expect(refreshScheduleFromEnv()).toEqual({ refreshAheadMs: config.refreshAheadMs, keepAliveFraction: config.keepAliveFraction, genericIdleMs: config.genericIdleMs });
    } finally {
      if (savedIdle === undefined) Reflect.deleteProperty(process.env, "WORKER_GENERIC_IDLE_DAYS");
      else process.env.WORKER_GENERIC_IDLE_DAYS = savedIdle;
      resetTokenEnvCacheForTests();
    }
  });

  it("defaults: 4 failing days, refresh-ahead 10 minutes, no webhooks, no audit retention, revocations retried every 5 minutes, the embedded database", () => {
    withEnv({});
    const { config, databaseUrl } = workerEnv();
    expect([config.exhaustAfterDays, config.refreshAheadMs, config.webhook, config.auditRetentionDays, config.revocationRetryCron, databaseUrl]).toEqual([4, 600_000, null, null, "*/5 * * * *", null]);
  });

  it("reads what is set", () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;
    withEnv({ WORKER_EXHAUST_AFTER_DAYS: "6", WORKER_REFRESH_AHEAD_SECONDS: "0", WEBHOOK_URL: "https://hooks.example.com/x", WEBHOOK_SECRET: secret, AUDIT_RETENTION_DAYS: "400", WORKER_REVOCATION_RETRY_CRON: "*/15 * * * *" });
    const { config } = workerEnv();
    expect([config.exhaustAfterDays, config.refreshAheadMs, config.webhook, config.auditRetentionDays, config.revocationRetryCron]).toEqual([6, 0, { url: "https://hooks.example.com/x", secret }, 400, "*/15 * * * *"]);
  });

  it("serves metrics only with both WORKER_METRICS_PORT and a METRICS_TOKEN of 24+ characters", () => {
    withEnv({});
    expect(workerEnv().metrics).toBeNull();
    withEnv({ WORKER_METRICS_PORT: "9464", METRICS_TOKEN: "m".repeat(24) });
    // Loopback only unless WORKER_METRICS_HOST says otherwise.
    expect(workerEnv().metrics).toEqual({ port: 9464, token: "m".repeat(24), host: "127.0.0.1" });
    withEnv({ WORKER_METRICS_PORT: "9464", METRICS_TOKEN: "m".repeat(24), WORKER_METRICS_HOST: "0.0.0.0" });
    expect(workerEnv().metrics).toEqual({ port: 9464, token: "m".repeat(24), host: "0.0.0.0" });
    withEnv({ WORKER_METRICS_PORT: "9464", METRICS_TOKEN: "m".repeat(24), WORKER_METRICS_HOST: "not a host!" });
    expect(() => workerEnv()).toThrow(/WORKER_METRICS_HOST/);
    withEnv({ WORKER_METRICS_PORT: "9464" });
    expect(() => workerEnv()).toThrow(/METRICS_TOKEN/);
    withEnv({ WORKER_METRICS_PORT: "9464", METRICS_TOKEN: "short-secret-value" });
    expect(() => workerEnv()).toThrow(/METRICS_TOKEN/);
    expect(() => workerEnv()).not.toThrow(/short-secret-value/);
  });

  it("refuses a malformed value naming the variable, never echoing it", () => {
    withEnv({ WORKER_EXHAUST_AFTER_DAYS: "zero-days" });
    expect(() => workerEnv()).toThrow(KeyConfigError);
    expect(() => workerEnv()).toThrow(/WORKER_EXHAUST_AFTER_DAYS/);
    expect(() => workerEnv()).not.toThrow(/zero-days/);
  });

  it("refuses a webhook URL without its secret, and a secret that is not whsec_ base64", () => {
    withEnv({ WEBHOOK_URL: "https://hooks.example.com/x" });
    expect(() => workerEnv()).toThrow(/WEBHOOK_SECRET/);
    withEnv({ WEBHOOK_URL: "https://hooks.example.com/x", WEBHOOK_SECRET: "hunter2-not-a-secret" });
    expect(() => workerEnv()).toThrow(/WEBHOOK_SECRET/);
    expect(() => workerEnv()).not.toThrow(/hunter2/);
  });
});
