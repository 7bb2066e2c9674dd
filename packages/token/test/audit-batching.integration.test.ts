// Token-read audit rows are written once an interval: reads queued while a batch's INSERT is in
// flight wait for the next interval. The queue used to write them as soon as that INSERT
// returned, so a process reading tokens without pause wrote a batch after every batch, one INSERT
// per database round trip (docs/performance.md, the cold path). The test holds the batch's INSERT
// with a table lock, queues a read meanwhile, releases the lock, and looks before the interval is up.
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditTrail, type AuditEvent } from "../src/audit/audit-trail";
import { silentLogger } from "../src/logger";

const INTERVAL_MS = 3_000;
const read: AuditEvent = { companyId: "batch-co", action: "TOKEN_READ", outcome: "SUCCESS", connectionType: "xero", apiEndpoint: "tokenService.getValidToken", requestMethod: "READ", responseStatus: 200 };
const context = { userId: "reader", ipAddress: null, userAgent: null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the token-read audit queue", () => {
  let database: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    database = await createTestDatabase("auditbatch");
    db = await openDatabase({ databaseUrl: database.url });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const rows = () => db.prisma.auditLog.count({ where: { companyId: "batch-co" } });

  it("writes reads queued during a batch's INSERT at the next interval, not right after it", async () => {
    const audit = new AuditTrail(db.prisma, silentLogger, { flushIntervalMs: INTERVAL_MS, maxBatch: 500 });
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query(`BEGIN; LOCK TABLE "AuditLog" IN SHARE MODE`); // INSERTs wait for it
      audit.enqueue(read, context, new Date());
      // The interval's write starts and waits for the lock.
      const waiting = async () => (await locker.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE relation = '"AuditLog"'::regclass AND NOT granted`)).rows[0]!.n > 0;
      for (let i = 0; !(await waiting()); i++) {
        if (i > 500) throw new Error("the batch's INSERT never reached the lock");
        await sleep(10);
      }
      audit.enqueue(read, context, new Date()); // queued while the first batch is being written
      const queuedAt = performance.now();
      await locker.query("COMMIT");
      for (let i = 0; (await rows()) < 1; i++) {
        if (i > 500) throw new Error("the first batch was not written");
        await sleep(10);
      }
      // Long enough for an INSERT right after the first one, well before the second read's interval.
      await sleep(Math.max(0, INTERVAL_MS / 2 - (performance.now() - queuedAt)));
      expect(await rows()).toBe(1);
      expect(audit.pending).toBe(1);
      // Its interval comes: written, and nothing is lost.
      for (let i = 0; (await rows()) < 2; i++) {
        if (i > 500) throw new Error("the second batch was never written");
        await sleep(10);
      }
      expect(audit.pending).toBe(0);
    } finally {
      await locker.end();
    }
  });

  it("flush() (shutdown) writes everything queued, also what is queued while it writes", async () => {
    const audit = new AuditTrail(db.prisma, silentLogger, { flushIntervalMs: 60_000, maxBatch: 2 });
    const before = await rows();
    for (let i = 0; i < 5; i++) audit.enqueue({ ...read, connectionType: `p${i}` }, context, new Date());
    const flushed = audit.flush();
    audit.enqueue({ ...read, connectionType: "late" }, context, new Date());
    await flushed;
    expect(audit.pending).toBe(0);
    expect((await rows()) - before).toBe(6);
  });
});
