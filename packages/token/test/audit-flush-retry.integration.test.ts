// A batch of token-read audit rows whose INSERT commits but whose answer never comes back (the
// network goes silent between the two) is kept and written again: the retry must not write the
// same rows twice. Found by `pnpm soak` (more reads written than answered after a black hole).
// The test makes the window wide: a deferred trigger of its own (in its own database) makes the
// commit wait for an advisory lock the test holds; the test black-holes the proxy, then releases
// the lock: the rows commit and the answer is dropped.
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase, TcpProxy, withPgClient, type TestDatabase } from "@tokenvault/db/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../src/logger";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS, type Harness } from "./harness";

const QUERY_TIMEOUT_MS = 2_000;

async function until(ms: number, check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("an audit batch whose INSERT committed but whose answer was lost", () => {
  let database: TestDatabase;
  let h: Harness;
  let proxy: TcpProxy;
  let proxied: Database;
  let service: TokenService;

  beforeAll(async () => {
    database = await createTestDatabase("auditretry");
    h = await createHarness(database.url, { strict: true });
    proxy = await TcpProxy.forUrl(database.url);
    proxied = await openDatabase({ databaseUrl: proxy.urlFor(database.url), pool: { connectTimeoutMs: 1_000, queryTimeoutMs: QUERY_TIMEOUT_MS, max: 2 } });
    service = new TokenService({ prisma: proxied.prisma, vault: h.vault, providers: registryFor(h.sim.url), logger: silentLogger, options: TEST_OPTIONS });
    await h.connect(h.service(), "retry-co", "xero");
    await withPgClient(database.url, async (c) => {
      await c.query(`CREATE FUNCTION wait_for_test() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_lock_shared(4242); PERFORM pg_advisory_unlock_shared(4242); RETURN NULL; END $$`);
      await c.query(`CREATE CONSTRAINT TRIGGER wait_at_commit AFTER INSERT ON "AuditLog" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wait_for_test()`);
    });
  });
  afterAll(async () => {
    await service?.close();
    await proxied?.close();
    await proxy?.close();
    await h?.close();
    await database?.drop();
  });

  it("is written once when retried", async () => {
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query("SELECT pg_advisory_lock(4242)"); // commits of AuditLog rows wait for it
      for (let i = 0; i < 3; i++) await service.getValidToken("retry-co", "xero", "reader");
      expect(service.pendingAuditRows).toBe(3);
      // The batch (flushed within a second) waits for the lock at the server, in its commit.
      await until(5_000, async () => {
        const waiting = await withPgClient(database.url, (c) =>
          c.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'`, [database.name]),
        );
        return waiting.rowCount! > 0;
      }, "the audit batch waiting for the lock");
      proxy.setMode("blackhole");
      await locker.query("SELECT pg_advisory_unlock(4242)"); // the rows commit; the answer is dropped
    } finally {
      await locker.end();
    }
    // The client gives up after its query timeout and keeps the rows for the next flush.
    await until(QUERY_TIMEOUT_MS + 3_000, () => Promise.resolve(service.pendingAuditRows === 3), "the batch kept for retry");
    expect(await h.db.prisma.auditLog.count({ where: { companyId: "retry-co", userId: "reader", action: "TOKEN_READ" } })).toBe(1); // committed all the same
    proxy.restore();
    await service.close(); // writes what is queued, after the flush in flight
    expect(service.pendingAuditRows).toBe(0);
    const rows = await h.db.prisma.auditLog.findMany({ where: { companyId: "retry-co", userId: "reader", action: "TOKEN_READ" } });
    expect(rows.map((row) => (row.details as { reads?: number } | null)?.reads ?? 1)).toEqual([3]);
  }, 30_000);
});
