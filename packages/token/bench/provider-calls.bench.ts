// `pnpm bench` (provider calls): what tokenService.fetch adds over a bare fetch to the same
// simulator endpoint (the token read from the cache, the limits' turn in Redis or in memory, the
// retry bookkeeping, metrics and span), median of sequential calls, bare and wrapped alternating
// so both see the same machine; then calls/s at the limit: 4 processes x 50 callers on one Xero
// organisation whose budget (in Redis) is LIMIT_PER_S a second, the simulator enforcing the same.
// The machine's CPU may be shared: read ratios, not absolute numbers.
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { createClient } from "redis";
import { Registry } from "prom-client";
import { createTestDatabase, LineProcess } from "@tokenvault/db/testing";
import { silentLogger } from "../src/logger";
import { TokenMetrics } from "../src/metrics/token-metrics";
import type { ProviderCallsConfig } from "../src/provider-calls";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS } from "../test/harness";

const CALLS = 2_000;
const SLOW_CALLS = 200;
/** `--rate-only`: only the calls/s at the limit. */
const RATE_ONLY = process.argv.includes("--rate-only");
/** `--overhead-only`: only the overhead over a bare fetch (e.g. under --cpu-prof). */
const OVERHEAD_ONLY = process.argv.includes("--overhead-only");
const PROCESSES = Number(process.argv.find((a) => a.startsWith("--processes="))?.split("=")[1] ?? 4);
const CALLERS = 50;
const LIMIT_PER_S = 200;
const RATE_RUN_MS = 5_000;
const CONCURRENT = Number(process.argv.find((a) => a.startsWith("--concurrent="))?.split("=")[1] ?? 5);
/** The Redis the tests use (test/provider-call-limits.integration.test.ts: REDIS_URL or the local one). */
const REDIS_URL = "redis://127.0.0.1:6379";
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (v: number) => `${v.toFixed(3)} ms`;

const database = await createTestDatabase("bench-calls");
const h = await createHarness(database.url);
const redis = await createClient({ url: REDIS_URL }).connect();
try {
  await h.sim.updateLimits({ enabled: false });
  const unlimited = { xero: { tenantRates: [], appRates: [], tenantConcurrency: 1_000 } };
  const services: Record<string, TokenService> = {};
  const configs: Record<string, ProviderCallsConfig> = {
    "fetch, limits in Redis": { limits: { kind: "redis", client: redis, prefix: `bench-${randomUUID().slice(0, 8)}` }, limitOverrides: unlimited },
    "fetch, limits in memory": { limits: { kind: "memory" }, limitOverrides: unlimited },
  };
  for (const [name, config] of Object.entries(configs)) {
    services[name] = new TokenService({ prisma: h.db.prisma, vault: h.vault, providers: registryFor(h.sim.url), logger: silentLogger, metrics: new TokenMetrics(new Registry()), options: { ...TEST_OPTIONS, tokenCache: true }, listenDatabaseUrl: database.url, providerCalls: config });
  }
  const first = Object.values(services)[0]!;
  await h.connect(first, "bench-co", "xero");
  const token = await first.getValidToken("bench-co", "xero", "bench");
  const url = `${h.sim.url}/xero/api/api.xro/2.0/Organisation`;
  const bare = async () => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token.accessToken}`, "xero-tenant-id": token.externalId!, accept: "application/json" } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`bare fetch answered ${response.status}`);
  };
  const runs: [string, () => Promise<void>][] = [
    ["bare fetch", bare],
    ...Object.entries(services).map(([name, service]): [string, () => Promise<void>] => [name, async () => void (await (await service.fetch({ companyId: "bench-co", provider: "xero" }, "Organisation", { userId: "bench" })).arrayBuffer())]),
  ];
  if (!RATE_ONLY) for (let i = 0; i < 200; i++) for (const [, run] of runs) await run(); // warm-up
  const measure = async (calls: number) => {
    const timings: Record<string, number[]> = Object.fromEntries(runs.map(([name]) => [name, []]));
    for (let i = 0; i < calls; i++) {
      for (const [name, run] of runs) {
        const started = performance.now();
        await run();
        timings[name]!.push(performance.now() - started);
      }
    }
    const floor = median(timings["bare fetch"]!);
    for (const [name, values] of Object.entries(timings)) console.log(`  ${name.padEnd(26)} median ${ms(median(values))}  (${(median(values) / floor).toFixed(2)}x, +${ms(median(values) - floor)})`);
  };
  if (!RATE_ONLY) console.log(`\nOverhead of tokenService.fetch over a bare fetch to the simulator (Xero Organisation, in process, loopback; ${CALLS} sequential calls each, interleaved):`);
  if (!RATE_ONLY) await measure(CALLS);
  // A provider is not on loopback: the same with the simulator answering after 20 ms.
  const latency = await h.sim.addFault({ kind: "latency", provider: "xero", endpoint: "api", latencyMs: 20 });
  if (!RATE_ONLY) console.log(`\nThe same with the simulator answering after 20 ms (${SLOW_CALLS} calls each):`);
  if (!RATE_ONLY) await measure(SLOW_CALLS);
  await h.sim.removeFault(latency.id);
  for (const service of Object.values(services)) await service.close();

  // --- calls/s at the limit ------------------------------------------------------------
  await h.sim.updateLimits({ enabled: true, minuteMs: 1_000, xero: { perMinute: LIMIT_PER_S, concurrent: CONCURRENT, perDay: null, appPerMinute: null } });
  const limits = { xero: { tenantConcurrency: CONCURRENT, tenantRates: [{ name: "minute", points: LIMIT_PER_S, windowMs: 1_000 }], appRates: [], maxWaitMs: 60_000 } };
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const workers = Array.from({ length: OVERHEAD_ONLY ? 0 : PROCESSES }, () =>
    new LineProcess(join(import.meta.dirname, "../test/calls-worker.ts"), {
      CALLS_DATABASE_URL: database.url,
      CALLS_SIMULATOR_URL: h.sim.url,
      CALLS_KEY: h.keyHex,
      CALLS_REDIS_URL: REDIS_URL,
      CALLS_PREFIX: prefix,
      CALLS_CALLERS: String(CALLERS),
      CALLS_LIMITS: JSON.stringify(limits),
    }, join(import.meta.dirname, "..")),
  );
  try {
    await Promise.all(workers.map((w) => w.next(120_000)));
    const company = `rate-${randomUUID().slice(0, 8)}`;
    await h.connect(h.service(), company, "xero");
    for (const runMs of OVERHEAD_ONLY ? [] : [1_000, RATE_RUN_MS]) {
      const startAt = Date.now() + 500;
      for (const w of workers) w.send(`go ${runMs} ${startAt} ${company}`);
      const reports = await Promise.all(workers.map((w) => w.next<{ ok: Record<string, number>; p50: number | null }>(runMs + 60_000)));
      if (runMs === 1_000) continue; // warm-up run
      const served = reports.reduce((n, r) => n + r.ok[company]!, 0);
      const usage = (await h.sim.apiUsage({ provider: "xero" })).tenants.find((t) => t.served > 0 && t.rejected)!;
      console.log(`\nCalls/s at the limit (${PROCESSES} processes x ${CALLERS} callers, one organisation, limit ${LIMIT_PER_S}/s and ${CONCURRENT} at once, limits in Redis, ${RATE_RUN_MS / 1000} s):`);
      console.log(`  ${(served / (RATE_RUN_MS / 1000)).toFixed(1)} calls/s (${((served / (RATE_RUN_MS / 1000) / LIMIT_PER_S) * 100).toFixed(1)} % of the limit); per process ${reports.map((r) => r.ok[company]).join(", ")}; median call ${reports.map((r) => ms(r.p50 ?? 0)).join(", ")}`);
      console.log(`  simulator: 429s ${JSON.stringify(usage.rejected)}, most in flight ${usage.maxInFlight}`);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
} finally {
  await redis.close();
  await h.close();
  await database.drop();
}
