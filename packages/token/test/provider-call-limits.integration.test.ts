// The limits of tokenService.fetch shared by real OS processes, against a simulator that
// enforces Xero's limits (scaled: its "minute" is WINDOW_MS): 4 processes x 50 callers on one
// organisation never draw a 429, use the budget within 10 %, and share it fairly; two
// organisations both run at their full rate. Limits in Redis, then in PostgreSQL.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { LineProcess } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createHarness, type Harness } from "./harness";

const WORKER = join(import.meta.dirname, "calls-worker.ts");
const PACKAGE_ROOT = join(import.meta.dirname, "..");
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PROCESSES = 4;
const CALLERS = 50;
/** The simulator's "minute", and our budget per organisation in it (Xero's 60 a minute, halved and sped up 20x). */
const WINDOW_MS = 3_000;
const PER_WINDOW = 30;
const RUN_MS = 2 * WINDOW_MS;

interface Report {
  ok: Record<string, number>;
  outcomes: Record<string, number>;
  p50: number | null;
}

describe.each(["redis", "postgres"] as const)("provider call limits across processes (%s)", (backend) => {
  let h: Harness;
  const workers: LineProcess[] = [];
  beforeAll(async () => {
    h = await createHarness(inject("databaseUrl"));
    await h.sim.updateLimits({ minuteMs: WINDOW_MS, xero: { perMinute: PER_WINDOW, concurrent: 5 } });
    // Each call takes a while at the provider, so calls overlap and the concurrency limit matters.
    await h.sim.addFault({ kind: "latency", provider: "xero", endpoint: "api", latencyMs: 30 });
    const limits = { xero: { tenantConcurrency: 5, tenantRates: [{ name: "minute", points: PER_WINDOW, windowMs: WINDOW_MS }], maxWaitMs: 60_000 } };
    const prefix = `test-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < PROCESSES; i++) {
      workers.push(
        new LineProcess(WORKER, {
          CALLS_DATABASE_URL: inject("databaseUrl"),
          CALLS_SIMULATOR_URL: h.sim.url,
          CALLS_KEY: h.keyHex,
          ...(backend === "redis" ? { CALLS_REDIS_URL: REDIS_URL } : {}),
          CALLS_PREFIX: prefix,
          CALLS_CALLERS: String(CALLERS),
          CALLS_LIMITS: JSON.stringify(limits),
        }, PACKAGE_ROOT),
      );
    }
    await Promise.all(workers.map((w) => w.next<{ ready: number }>(120_000)));
    // A first run on an organisation of its own warms every process (compiled paths, pools).
    await run([(await connected()).company], 1_000);
  }, 180_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await h.close();
  });

  async function run(companies: string[], ms = RUN_MS): Promise<Report[]> {
    const startAt = Date.now() + 500;
    for (const w of workers) w.send(`go ${ms} ${startAt} ${companies.join(",")}`);
    return Promise.all(workers.map((w) => w.next<Report>(ms + 60_000)));
  }

  async function connected(): Promise<{ company: string; tenant: string }> {
    const company = `co-${randomUUID().slice(0, 8)}`;
    const service = h.service();
    await h.connect(service, company, "xero");
    return { company, tenant: (await service.getValidToken(company, "xero", "alice")).externalId! };
  }

  const usageOf = async (tenant: string) => (await h.sim.apiUsage({ provider: "xero", tenantId: tenant })).tenants[0]!;

  it(`${PROCESSES} processes x ${CALLERS} callers on one organisation: no 429, the budget used within 10 %, shared fairly`, async () => {
    const { company, tenant } = await connected();
    const reports = await run([company]);
    const usage = await usageOf(tenant);
    const served = reports.reduce((n, r) => n + r.ok[company]!, 0);
    console.info(`${backend}: one organisation`, JSON.stringify({ usage, perProcess: reports.map((r) => r.ok[company]), outcomes: reports.map((r) => r.outcomes) }));
    expect(usage.rejected).toEqual({ minute: 0, day: 0, concurrent: 0, appminute: 0 });
    expect(usage.maxInFlight).toBeLessThanOrEqual(5);
    const limit = (PER_WINDOW * RUN_MS) / WINDOW_MS;
    expect(served).toBeGreaterThanOrEqual(limit * 0.9);
    expect(usage.served).toBeLessThanOrEqual(limit * 1.1);
    // Fair: every process got between half and twice its share.
    for (const r of reports) {
      expect(r.ok[company]).toBeGreaterThanOrEqual(served / PROCESSES / 2);
      expect(r.ok[company]).toBeLessThanOrEqual((served / PROCESSES) * 2);
    }
  }, 120_000);

  it("two organisations both run at their full rate", async () => {
    const [a, b] = [await connected(), await connected()];
    const reports = await run([a.company, b.company]);
    const limit = (PER_WINDOW * RUN_MS) / WINDOW_MS;
    for (const org of [a, b]) {
      const usage = await usageOf(org.tenant);
      const served = reports.reduce((n, r) => n + r.ok[org.company]!, 0);
      console.info(`${backend}: two organisations`, JSON.stringify({ served, usage }));
      expect(usage.rejected).toEqual({ minute: 0, day: 0, concurrent: 0, appminute: 0 });
      expect(served).toBeGreaterThanOrEqual(limit * 0.9);
      expect(usage.served).toBeLessThanOrEqual(limit * 1.1);
    }
  }, 120_000);
});
