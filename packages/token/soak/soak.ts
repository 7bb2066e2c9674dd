// `pnpm soak [--minutes 10] [--fault-every 60] [--companies 8] [--concurrency 8]`: the token service
// under a steady mixed load (token reads, status reads, checks) on its own database and simulator,
// loopback only, with a fault injected every --fault-every seconds (the database refused,
// silent, every connection terminated; the provider slow). Tokens are made to expire all along
// (one expiry at a time per connection), so refreshes run throughout. It stops by itself and
// prints what happened: calls by outcome, refreshes per expiry, memory at start and end. Exit
// code 1 when something the service promises did not hold (an untyped error, an unhandled
// rejection, a refresh lost or run twice).
import { parseArgs } from "node:util";
import { openDatabase } from "@tokenvault/db";
import { createTestDatabase, TcpProxy, terminateServiceBackends } from "@tokenvault/db/testing";
import { TokenError } from "@tokenvault/vault";
import { silentLogger } from "../src/logger";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS } from "../test/harness";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "fault-every": { type: "string", default: "60" },
    companies: { type: "string", default: "8" },
    concurrency: { type: "string", default: "8" },
  },
});
const positive = (name: string, value: string | undefined) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const MINUTES = positive("minutes", values.minutes);
const FAULT_EVERY_MS = positive("fault-every", values["fault-every"]) * 1000;
const COMPANIES = Math.floor(positive("companies", values.companies));
const CONCURRENCY = Math.floor(positive("concurrency", values.concurrency));
const FAULT_MS = Math.min(5_000, FAULT_EVERY_MS / 3);

let unhandled = 0;
process.on("unhandledRejection", () => unhandled++);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
/** An admin call on the direct connection, retried: the terminate fault drops its connections too. */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(200);
    }
  }
}

const database = await createTestDatabase("soak");
const h = await createHarness(database.url, { strict: true });
const proxy = await TcpProxy.forUrl(database.url);
const db = await openDatabase({ databaseUrl: proxy.urlFor(database.url), pool: { connectTimeoutMs: 1_000, queryTimeoutMs: 2_000, max: 5 } });
const service = new TokenService({ prisma: db.prisma, vault: h.vault, providers: registryFor(h.sim.url), logger: silentLogger, options: { ...TEST_OPTIONS, providerTimeoutMs: 5_000, leaseMs: 20_000 } });

/** Memory after a full collection when the script runs with --expose-gc (pnpm soak does), else as found. */
const memory = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
};
const memoryAtStart = memory();
const outcomes = new Map<string, number>();
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
const companies = Array.from({ length: COMPANIES }, (_, i) => `soak-${i}`);
const grants = new Map<string, string>();
const expiries = new Map<string, number>(companies.map((c) => [c, 0]));
const faults: string[] = [];
let running = true;

try {
  const direct = h.service();
  for (const company of companies) {
    await h.connect(direct, company, "xero");
    const connection = await h.db.prisma.connection.findUniqueOrThrow({ where: { companyId_provider: { companyId: company, provider: "xero" } } });
    const [grant] = await h.sim.listGrants({ tenantId: connection.externalId });
    grants.set(company, grant!.id);
  }
  const refreshesAtProvider = async (company: string) => (await h.sim.getGrant(grants.get(company)!))?.counters.refreshSuccess ?? 0;
  // Stored with the new token set in one transaction: once counted, that refresh is complete.
  const storedRefreshes = (company: string) => h.db.prisma.auditLog.count({ where: { companyId: company, action: "REFRESH", outcome: "SUCCESS" } });

  const caller = async () => {
    while (running) {
      const company = companies[Math.floor(Math.random() * companies.length)]!;
      const roll = Math.random();
      const [kind, call] =
        roll < 0.8
          ? (["read", () => service.getValidToken(company, "xero", "soak")] as const)
          : roll < 0.97
            ? (["status", () => service.getTokenStatus(company, "xero")] as const)
            : (["check", () => service.checkConnection(company, "xero", { userId: "soak" })] as const);
      try {
        await call();
        count(`${kind} ok`);
      } catch (error) {
        count(error instanceof TokenError ? `${kind} ${error.code}` : `${kind} UNTYPED ${error instanceof Error ? error.name : typeof error}`);
        await sleep(50);
      }
    }
  };

  // One expiry at a time per connection: the next only once the refresh for the last is stored.
  const expirer = async () => {
    while (running) {
      for (const company of companies) {
        if (!running) break;
        const consumed = await retried(() => storedRefreshes(company)).catch(() => -1);
        if (consumed < expiries.get(company)!) continue;
        await retried(() => h.expireSoon(company, "xero"))
          .then(() => expiries.set(company, expiries.get(company)! + 1))
          .catch(() => count("expirer could not expire"));
      }
      await sleep(2_000);
    }
  };

  const kinds = ["database refused", "database silent", "backends terminated", "provider slow"] as const;
  const injector = async () => {
    for (let n = 0; running; n++) {
      await sleep(FAULT_EVERY_MS);
      if (!running) break;
      const kind = kinds[n % kinds.length]!;
      faults.push(`${new Date().toISOString()} ${kind}`);
      if (kind === "database refused") proxy.down();
      if (kind === "database silent") proxy.setMode("blackhole");
      if (kind === "backends terminated") await terminateServiceBackends(database.name).catch(() => count("terminate failed"));
      if (kind === "provider slow") await h.sim.addFault({ kind: "latency", provider: "xero", endpoint: "token", latencyMs: 3_000 });
      await sleep(FAULT_MS);
      proxy.restore();
      proxy.cutAll(); // connections accepted while silent never reach the database
      await h.sim.clearFaults();
    }
  };

  console.info(`soak: ${MINUTES} min, ${COMPANIES} connections, ${CONCURRENCY} callers, a fault every ${FAULT_EVERY_MS / 1000} s lasting ${FAULT_MS / 1000} s`);
  const tasks = [...Array.from({ length: CONCURRENCY }, caller), expirer(), injector()];
  await sleep(MINUTES * 60_000);
  running = false;
  proxy.restore();
  await h.sim.clearFaults();
  await Promise.all(tasks);

  // Every pending expiry is consumed, with the database and the provider back.
  for (const company of companies) await retried(() => service.getValidToken(company, "xero", "soak-final"));
  await service.close();

  const rows = await retried(() =>
    h.db.prisma.auditLog.groupBy({ by: ["companyId"], where: { action: "REFRESH", outcome: "SUCCESS", companyId: { in: companies } }, _count: { _all: true } }),
  );
  const stored = new Map(rows.map((r) => [r.companyId, r._count._all]));
  const refreshes: { company: string; expiries: number; providerRefreshes: number; storedResults: number }[] = [];
  for (const company of companies) {
    refreshes.push({ company, expiries: expiries.get(company)!, providerRefreshes: await refreshesAtProvider(company), storedResults: stored.get(company) ?? 0 });
  }
  const memoryAtEnd = memory();

  console.info("\nfaults injected:");
  for (const fault of faults) console.info(`  ${fault}`);
  console.info("\ncalls by outcome:");
  for (const [key, n] of [...outcomes].sort()) console.info(`  ${key}: ${n}`);
  console.info("\nrefreshes per connection (exactly one per expiry: provider refreshes = expiries = stored results):");
  console.table(refreshes);
  console.info(`memory: rss ${mb(memoryAtStart.rss)} -> ${mb(memoryAtEnd.rss)}, heap used ${mb(memoryAtStart.heapUsed)} -> ${mb(memoryAtEnd.heapUsed)}`);
  console.info(`unhandled rejections: ${unhandled}; audit rows still queued: ${service.pendingAuditRows}`);

  const broken = [
    ...[...outcomes.keys()].filter((key) => key.includes("UNTYPED")).map((key) => `untyped errors (${key})`),
    ...(unhandled > 0 ? ["unhandled rejections"] : []),
    ...(service.pendingAuditRows > 0 ? ["audit rows left queued"] : []),
    ...refreshes.filter((r) => r.providerRefreshes !== r.expiries).map((r) => `${r.company}: ${r.providerRefreshes} provider refreshes for ${r.expiries} expiries`),
    ...refreshes.filter((r) => r.storedResults !== r.providerRefreshes).map((r) => `${r.company}: ${r.providerRefreshes - r.storedResults} refresh results not stored`),
  ];
  console.info(broken.length === 0 ? "\nsoak: every promise held" : `\nsoak: FAILED\n  ${broken.join("\n  ")}`);
  process.exitCode = broken.length === 0 ? 0 : 1;
} finally {
  running = false;
  await db.close();
  await proxy.close();
  await h.close();
  await database.drop();
}
