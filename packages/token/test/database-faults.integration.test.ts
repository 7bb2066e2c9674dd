// The database goes away under a running service: a TCP proxy of the test's own stands between
// the service and PostgreSQL and refuses, black-holes or cuts its connections. Every call fails
// closed with a typed error within the configured timeouts, and the same service works again
// (and writes every queued audit row) once the database is back, without a restart.
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase, TcpProxy, type TestDatabase } from "@tokenvault/db/testing";
import { TokenError } from "@tokenvault/vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLogQuery } from "../src/audit/audit-log-query";
import { silentLogger } from "../src/logger";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS, type Harness } from "./harness";

const CONNECT_TIMEOUT_MS = 1_000;
const QUERY_TIMEOUT_MS = 1_000;
/** The longest a call may take while the database is gone: twice the worst case (a connect, then a query past its client grace). */
const BOUND_MS = 2 * (CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 1_000);

/** The call's TokenError code (or "resolved", or what else it threw) and how long it took to settle. */
async function timed(call: () => Promise<unknown>): Promise<{ code: string; ms: number }> {
  const started = performance.now();
  const code = await call().then(
    () => "resolved",
    (error: unknown) => (error instanceof TokenError ? error.code : `not a TokenError: ${error instanceof Error ? `${error.name}: ${error.message.slice(0, 120)}` : String(error)}`),
  );
  return { code, ms: Math.round(performance.now() - started) };
}

/** Polls `check` until it returns true, or fails after `ms`. */
async function until(ms: number, check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the database becomes unreachable under a running service", () => {
  let database: TestDatabase;
  let h: Harness;
  let proxy: TcpProxy;
  let proxied: Database;
  let service: TokenService;
  let auditLog: AuditLogQuery;

  beforeAll(async () => {
    database = await createTestDatabase("dbfaults");
    h = await createHarness(database.url, { strict: true });
    proxy = await TcpProxy.forUrl(database.url);
    proxied = await openDatabase({ databaseUrl: proxy.urlFor(database.url), pool: { connectTimeoutMs: CONNECT_TIMEOUT_MS, queryTimeoutMs: QUERY_TIMEOUT_MS, max: 4 } });
    service = new TokenService({ prisma: proxied.prisma, vault: h.vault, providers: registryFor(h.sim.url), logger: silentLogger, options: TEST_OPTIONS });
    auditLog = new AuditLogQuery(proxied.prisma);
    const direct = h.service();
    for (const company of ["down-co", "hole-co", "audit-co"]) await h.connect(direct, company, "xero");
  });
  afterAll(async () => {
    await service?.close();
    await proxied?.close();
    await proxy?.close();
    await h?.close();
    await database?.drop();
  });

  /** Every database-backed call of the service once, while the database is gone. */
  const duringOutage = (company: string): [string, () => Promise<unknown>][] => [
    ["getValidToken", () => service.getValidToken(company, "xero", "alice")],
    ["getTokenStatus", () => service.getTokenStatus(company, "xero")],
    ["listConnections", () => service.listConnections(company)],
    ["audit list", () => auditLog.list(company)],
    ["refreshNow", () => service.refreshNow(company, "xero", { userId: "alice" })],
  ];

  async function expectFailsClosed(company: string): Promise<Record<string, number>> {
    const latencies: Record<string, number> = {};
    for (const [name, call] of duringOutage(company)) {
      const { code, ms } = await timed(call);
      expect(`${name}: ${code}`).toBe(`${name}: VAULT_UNAVAILABLE`);
      expect(ms, name).toBeLessThan(BOUND_MS);
      latencies[name] = ms;
    }
    return latencies;
  }

  async function expectRecovered(company: string): Promise<void> {
    await until(10_000, async () => (await timed(() => service.getValidToken(company, "xero", "alice"))).code === "resolved", "the service to answer again");
    const token = await service.getValidToken(company, "xero", "alice");
    expect(token.accessToken.length).toBeGreaterThan(10);
    expect((await service.getTokenStatus(company, "xero")).status).toBe("VALID");
    expect((await auditLog.list(company)).items.length).toBeGreaterThan(0);
  }

  it("refused connections: every call fails with VAULT_UNAVAILABLE within the bound, then works again", async () => {
    expect((await service.getValidToken("down-co", "xero", "alice")).accessToken).toBeTruthy();
    proxy.down();
    try {
      const latencies = await expectFailsClosed("down-co");
      console.info(`calls while the database refused connections settled within (ms): ${JSON.stringify(latencies)}`);
    } finally {
      proxy.restore();
    }
    await expectRecovered("down-co");
  });

  it("a silent database (black hole): every call fails with VAULT_UNAVAILABLE within the bound, then works again", async () => {
    expect((await service.getValidToken("hole-co", "xero", "alice")).accessToken).toBeTruthy();
    proxy.setMode("blackhole");
    try {
      const latencies = await expectFailsClosed("hole-co");
      console.info(`calls while the database was silent settled within (ms): ${JSON.stringify(latencies)}`);
    } finally {
      proxy.restore();
    }
    await expectRecovered("hole-co");
  });

  it("a refresh due during the outage happens once the database is back, exactly once", async () => {
    const before = (await service.getValidToken("hole-co", "xero", "alice")).accessToken;
    await h.expire("hole-co", "xero"); // expired: the first call after the outage waits for the refresh
    proxy.setMode("blackhole");
    proxy.cutAll();
    try {
      expect((await timed(() => service.getValidToken("hole-co", "xero", "alice"))).code).toBe("VAULT_UNAVAILABLE");
    } finally {
      proxy.restore();
    }
    await until(10_000, async () => (await timed(() => service.getValidToken("hole-co", "xero", "alice"))).code === "resolved", "the service to answer again");
    const after = await service.getValidToken("hole-co", "xero", "alice");
    expect(after.accessToken).not.toBe(before);
    const refreshes = await h.db.prisma.auditLog.count({ where: { companyId: "hole-co", action: "REFRESH", outcome: "SUCCESS" } });
    expect(refreshes).toBe(1);
  });

  it("audit rows queued before the outage are written when the database returns, with no further call", async () => {
    const reads = 5;
    // Reads whose rows are all still queued: a batch the one-second flush split is read again.
    let batch = 0;
    await until(
      10_000,
      async () => {
        await service.close(); // an empty queue to start from
        batch++;
        await Promise.all(Array.from({ length: reads }, (_, i) => service.getValidToken("audit-co", "xero", `reader-${batch}-${i}`)));
        return service.pendingAuditRows === reads;
      },
      "a batch of reads queued together",
    );
    proxy.down();
    try {
      // The queue's own flush (every second) fails while the database is gone; the rows stay queued.
      await service.close().catch(() => {});
      expect(service.pendingAuditRows).toBe(reads);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(service.pendingAuditRows).toBe(reads);
    } finally {
      proxy.restore();
    }
    const written = () => h.db.prisma.auditLog.count({ where: { companyId: "audit-co", action: "TOKEN_READ", userId: { startsWith: `reader-${batch}-` } } });
    await until(10_000, async () => (await written()) === reads, "the queued audit rows to be written");
    expect(service.pendingAuditRows).toBe(0);
    expect(await written()).toBe(reads);
  });
});
