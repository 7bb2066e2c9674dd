// PostgreSQL drops every connection of the service (pg_terminate_backend, as a failover would)
// while 4 processes call getValidToken across expiries: callers caught mid-query fail closed with
// a typed error, no refresh runs twice and none is lost (strict rotation: a lost result would
// show as a reused refresh token), no process sees an unhandled rejection, and the very next
// round of calls is served in full.
import { join } from "node:path";
import { createTestDatabase, LineProcess, terminateServiceBackends, withPgClient, type TestDatabase } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "./harness";

const WORKER = join(import.meta.dirname, "fault-worker.ts");
const PACKAGE_ROOT = join(import.meta.dirname, "..");
const PROCESSES = 4;
const CALLERS = 20;
const CYCLES = 8;
/** The provider answers a refresh after this long: time enough to drop every connection while the refresh waits for it. */
const PROVIDER_DELAY_MS = 1_500;
/** The lease (TEST_OPTIONS.leaseMs): the longest a refresh whose holder lost its connection can block others. */
const LEASE_MS = 10_000;

interface Report {
  cycle: number;
  tokens: string[];
  count: number;
  errors: string[];
  unhandled: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(20);
}

/** A harness call, retried once: the harness's own connections are terminated too. */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch {
    return call();
  }
}

describe("PostgreSQL terminates the service's connections under load", () => {
  let database: TestDatabase;
  let h: Harness;
  const workers: LineProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("terminate");
    h = await createHarness(database.url, { strict: true });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await h?.close();
    await database?.drop();
  });

  it(`${PROCESSES} processes x ${CALLERS} callers over ${CYCLES} expiries, every connection killed in each: one refresh per expiry, nothing lost`, async () => {
    const company = "terminate-co";
    const service = h.service();
    await h.connect(service, company, "xero");
    const connection = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company, provider: "xero" } });
    const [grant] = await h.sim.listGrants({ tenantId: (await h.db.prisma.connection.findFirstOrThrow({ where: { grantId: connection.id } })).externalId });
    expect(grant).toBeDefined();

    for (let i = 0; i < PROCESSES; i++) {
      workers.push(
        new LineProcess(WORKER, { HERD_DATABASE_URL: database.url, HERD_SIMULATOR_URL: h.sim.url, HERD_KEY: h.keyHex, HERD_COMPANY: company, HERD_PROVIDER: "xero", HERD_CALLERS: String(CALLERS) }, PACKAGE_ROOT),
      );
    }
    for (const w of workers) await w.next<{ ready: number }>(120_000); // start-up is slow on a busy machine

    let previous = (await service.getValidToken(company, "xero", "setup")).accessToken;
    let terminated = 0;
    const recoveries: number[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      await retried(() => h.expire(company, "xero")); // expired: callers wait for the refresh
      if (cycle % 2 === 0) {
        // Even cycles: every pooled connection is dropped while idle, just before the callers come.
        terminated += await terminateServiceBackends(database.name);
        for (const w of workers) w.send(`go ${cycle}`);
      } else {
        // Odd cycles: dropped while the refresh is at the provider (it holds no connection then).
        const fault = await h.sim.addFault({ kind: "latency", provider: "xero", endpoint: "token", latencyMs: PROVIDER_DELAY_MS, count: 1 });
        for (const w of workers) w.send(`go ${cycle}`);
        await until(async () => (await h.sim.listFaults()).every((f) => f.id !== fault.id)); // used up: the refresh is at the provider
        terminated += await terminateServiceBackends(database.name);
      }
      const killedAt = performance.now();
      const during = await Promise.all(workers.map((w) => w.next<Report>(60_000)));
      for (const report of during) {
        expect(report.count + report.errors.length).toBe(CALLERS);
        // A caller whose query was cut fails closed, with the typed error, never anything else.
        for (const error of report.errors) expect(error, `cycle ${cycle}`).toMatch(/^VAULT_UNAVAILABLE: /);
      }
      expect(new Set(during.flatMap((r) => r.tokens)).size, `cycle ${cycle}: whoever got a token got the same one`).toBeLessThanOrEqual(1);

      // The very next round is served in full, with the refreshed token: the refresh was not lost.
      for (const w of workers) w.send(`go ${cycle}`);
      const after = await Promise.all(workers.map((w) => w.next<Report>(60_000)));
      recoveries.push(Math.round(performance.now() - killedAt));
      expect(after.flatMap((r) => r.errors), `cycle ${cycle}: after the kill`).toEqual([]);
      const tokens = new Set(after.flatMap((r) => r.tokens));
      expect(tokens.size, `cycle ${cycle}: every caller holds the same token`).toBe(1);
      const [fresh] = [...tokens];
      expect(fresh, `cycle ${cycle}: the token is new`).not.toBe(previous);
      previous = fresh!;
      expect([...during, ...after].map((r) => r.unhandled), "unhandled rejections").toEqual(Array.from({ length: 2 * PROCESSES }, () => 0));
      expect((await h.sim.getGrant(grant!.id))?.counters.refreshSuccess, `cycle ${cycle}: one refresh per expiry`).toBe(cycle);
    }
    console.info(`terminated ${terminated} backends over ${CYCLES} cycles; served in full again after (ms): ${JSON.stringify(recoveries)}`);
    expect(terminated).toBeGreaterThanOrEqual(CYCLES);
    expect(Math.max(...recoveries), "back within the lease (the longest a cut refresh can block)").toBeLessThan(2 * LEASE_MS);

    const final = await h.sim.getGrant(grant!.id);
    expect(final?.status).toBe("active");
    expect(final?.counters).toEqual({ refreshSuccess: CYCLES, refreshFailed: 0, invalidGrant: 0 });
    expect((await h.sim.stats()).totals.reuseDetected).toBe(0);
    const refreshRows = await retried(() => h.db.prisma.auditLog.count({ where: { companyId: company, action: "REFRESH", outcome: "SUCCESS" } }));
    expect(refreshRows).toBe(CYCLES);
  }, 240_000);
});

describe("PostgreSQL terminates the connection that is writing a refresh result", () => {
  let database: TestDatabase;
  let h: Harness;

  beforeAll(async () => {
    database = await createTestDatabase("terminate_write");
    h = await createHarness(database.url, { strict: true });
  });
  afterAll(async () => {
    await h?.close();
    await database?.drop();
  });

  // The provider has rotated the grant when the write is cut: the refresher keeps the result and
  // retries the fenced write on a fresh connection, so the waiting call gets the new token and the
  // next call needs no second provider refresh (one with the old refresh token would be reuse).
  it("the write of a refresh result survives a cut connection: the caller gets the new token, one provider refresh", async () => {
    const company = "write-co";
    const lines: string[] = [];
    const record = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push(JSON.stringify({ level, message, ...fields }));
    const service = h.service({ providerTimeoutMs: 8_000 }, { info: record("info"), warn: record("warn"), error: record("error") });
    await h.connect(service, company, "xero");
    const connection = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company, provider: "xero" } });
    const [grant] = await h.sim.listGrants({ tenantId: (await h.db.prisma.connection.findFirstOrThrow({ where: { grantId: connection.id } })).externalId });
    await h.expire(company, "xero"); // expired: the caller waits for the refresh

    const fault = await h.sim.addFault({ kind: "latency", provider: "xero", endpoint: "token", latencyMs: 1_000, count: 1 });
    const first = service.getValidToken(company, "xero", "alice");
    await until(async () => (await h.sim.listFaults()).every((f) => f.id !== fault.id)); // the refresh is at the provider
    // Hold the connection row, so the result's fenced write waits on it; then cut that write's connection.
    await withPgClient(database.url, async (admin) => {
      await admin.query("BEGIN");
      await admin.query(`SELECT 1 FROM "OAuthGrant" WHERE id = $1::uuid FOR UPDATE`, [connection.id]);
      await until(async () => {
        const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tokenvault' AND wait_event_type = 'Lock'`, [database.name]);
        return rows.length > 0;
      });
      await terminateServiceBackends(database.name);
      await admin.query("ROLLBACK");
    });

    const refreshed = await first; // the call whose write was cut
    expect(lines.some((line) => line.includes("refresh result not stored yet")), "the write was cut and retried").toBe(true);
    const next = await retried(() => service.getValidToken(company, "xero", "alice"));
    expect(next.accessToken).toBe(refreshed.accessToken);
    expect((await h.sim.getGrant(grant!.id))?.counters).toEqual({ refreshSuccess: 1, refreshFailed: 0, invalidGrant: 0 });
    expect((await h.sim.stats()).totals.reuseDetected).toBe(0);
    expect(await retried(() => h.db.prisma.auditLog.count({ where: { companyId: company, action: "REFRESH", outcome: "SUCCESS" } }))).toBe(1);
    const after = await retried(() => h.db.prisma.oAuthGrant.findUniqueOrThrow({ where: { id: connection.id } }));
    expect(after.version, "the token set was written once").toBe(connection.version + 1);
    expect(after.leaseOwner, "the lease was released by the write").toBeNull();
    for (const line of lines) expect(line).not.toContain(refreshed.accessToken);
  });
});
