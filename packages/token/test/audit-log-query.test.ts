import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { AuditLogQuery, csvField, isAuditCursor } from "../src/audit/audit-log-query";

// A million rows of one company among others, in a database of its own.
describe("audit log query on a million rows", () => {
  let database: TestDatabase;
  let db: Database;
  let query: AuditLogQuery;
  beforeAll(async () => {
    database = await createTestDatabase("audit");
    // Seeding a million rows takes longer than the default statement timeout (DATABASE_QUERY_TIMEOUT_MS).
    db = await openDatabase({ databaseUrl: database.url, pool: { queryTimeoutMs: 300_000 } });
    await db.prisma.$executeRawUnsafe(`
      INSERT INTO "AuditLog" (id, "timestamp", "companyId", "userId", action, outcome, "connectionType", "apiEndpoint", "requestMethod", "responseStatus")
      SELECT gen_random_uuid(),
             timestamp '2026-01-01' + (g * interval '1 second') - ((g % 7) * interval '1 millisecond'),
             CASE WHEN g % 10 = 0 THEN 'globex' ELSE 'acme' END,
             'user-' || (g % 5),
             (ARRAY['REFRESH','CHECK','CONNECT','TOKEN_READ'])[1 + g % 4]::"AuditAction",
             CASE WHEN g % 13 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END::"AuditOutcome",
             CASE WHEN g % 2 = 0 THEN 'quickbooks' ELSE 'xero' END,
             '/endpoint', 'POST', 200
        FROM generate_series(1, 1000000) g`);
    // Same timestamp for several rows: the id must break the tie.
    await db.prisma.$executeRawUnsafe(`
      INSERT INTO "AuditLog" (id, "timestamp", "companyId", "userId", action, outcome, "connectionType", "apiEndpoint", "requestMethod", "responseStatus")
      SELECT gen_random_uuid(), timestamp '2030-01-01', 'acme', 'tie', 'CHECK', 'SUCCESS', 'xero', '/t', 'GET', 200 FROM generate_series(1, 7)`);
    await db.prisma.$executeRawUnsafe(`ANALYZE "AuditLog"`);
    query = new AuditLogQuery(db.prisma);
  }, 180_000);
  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  it("pages newest first without overlap or gap, across equal timestamps", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let previous: { t: number; id: string } | null = null;
    for (let page = 0; page < 5; page++) {
      const result = await query.list("acme", {}, { cursor, limit: 3 });
      for (const item of result.items) {
        expect(item.companyId).toBe("acme");
        if (previous) {
          const t = item.timestamp.getTime();
          expect(t < previous.t || (t === previous.t && item.id < previous.id)).toBe(true);
        }
        previous = { t: item.timestamp.getTime(), id: item.id };
        seen.push(item.id);
      }
      cursor = result.nextCursor;
    }
    expect(new Set(seen).size).toBe(15);
    expect(seen.slice(0, 7).length).toBe(7);
  });

  it("filters by connection type, action, outcome, user and time range", async () => {
    const page = await query.list("acme", { connectionType: "quickbooks", action: "REFRESH", outcome: "FAILURE", userId: "user-2", from: new Date("2026-01-02"), to: new Date("2026-01-20") }, { limit: 200 });
    expect(page.items.length).toBeGreaterThan(0);
    for (const item of page.items) {
      expect(item).toMatchObject({ connectionType: "quickbooks", action: "REFRESH", outcome: "FAILURE", userId: "user-2" });
      expect(item.timestamp >= new Date("2026-01-02") && item.timestamp < new Date("2026-01-20")).toBe(true);
    }
  });

  it("reads a deep page as an index range starting at the cursor: no sort, no scan of newer rows", async () => {
    // A cursor half-way down acme's 900k rows.
    const middle = await db.prisma.auditLog.findFirstOrThrow({ where: { companyId: "acme", timestamp: { lte: new Date("2026-01-06T05:00:00Z") } }, orderBy: [{ timestamp: "desc" }, { id: "desc" }] });
    const cursor = Buffer.from(JSON.stringify({ t: middle.timestamp.toISOString(), id: middle.id })).toString("base64url");
    const page = await query.list("acme", {}, { cursor, limit: 50 });
    expect(page.items).toHaveLength(50);
    expect(page.items[0]!.timestamp <= middle.timestamp).toBe(true);

    // The exact SQL the query runs, as PostgreSQL executes it.
    const sql = query.pageQuery("acme", {}, cursor, 50);
    const plan = await db.prisma.$queryRawUnsafe<{ "QUERY PLAN": string }[]>(`EXPLAIN (ANALYZE, FORMAT TEXT) ${sql.text}`, ...sql.values);
    const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
    expect(text).toMatch(/Index Scan using "AuditLog_companyId_timestamp_id_idx"/);
    expect(text).toMatch(/Index Cond: .*ROW\("timestamp", id\) < ROW/);
    expect(text).not.toMatch(/Seq Scan|Sort/);
    const removed = Number(/Rows Removed by Filter: (\d+)/.exec(text)?.[1] ?? 0);
    expect(removed).toBeLessThan(10);
  });

  it("pages a filtered log (by action) through its own index, without a sort", async () => {
    const first = await query.list("acme", { action: "REFRESH" }, { limit: 50 });
    const sql = query.pageQuery("acme", { action: "REFRESH" }, first.nextCursor, 50);
    const plan = await db.prisma.$queryRawUnsafe<{ "QUERY PLAN": string }[]>(`EXPLAIN (ANALYZE, FORMAT TEXT) ${sql.text}`, ...sql.values);
    const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
    expect(text).toMatch(/Index Scan using "AuditLog_companyId_action_timestamp_id_idx"/);
    expect(text).not.toMatch(/Seq Scan|Sort/);
  });

  it("refuses a forged cursor with a typed error, before PostgreSQL's casts see it", async () => {
    const forged = (t: string, id: string) => Buffer.from(JSON.stringify({ t, id })).toString("base64url");
    const now = new Date().toISOString();
    const uuid = "00000000-0000-4000-8000-000000000000";
    for (const cursor of [
      "bm90LWEtY3Vyc29y",
      forged(now, "-".repeat(36)), // passed the old /^[0-9a-f-]{36}$/, then failed the ::uuid cast
      forged(now, `${uuid.slice(0, 35)}-`),
      forged("-271821-04-20T00:00:00.000Z", uuid), // a valid JavaScript date PostgreSQL refuses
      forged("0000-01-01T00:00:00.000Z", uuid),
      forged("2026-01-01", uuid),
    ]) {
      await expect(query.list("acme", {}, { cursor })).rejects.toMatchObject({ code: "INVALID_INPUT" });
      expect(isAuditCursor(cursor)).toBe(false);
    }
    expect(isAuditCursor(forged(now, uuid))).toBe(true);
    await expect(query.list("acme", {}, { cursor: forged(now, uuid), limit: 1 })).resolves.toMatchObject({ items: [expect.anything()] });
  });

  it("escapes CSV fields and neutralises formulas", () => {
    expect(csvField('say "hi", ok')).toBe('"say ""hi"", ok"');
    expect(csvField("=HYPERLINK(1)")).toBe(`"'=HYPERLINK(1)"`);
    expect(csvField(null)).toBe("");
    expect(csvField(new Date("2026-01-01T00:00:00Z"))).toBe("2026-01-01T00:00:00.000Z");
  });

  it("neutralises every formula start on OWASP's CSV-injection list, and formulas after a separator", () => {
    for (const text of ["=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", "|calc"]) {
      expect([text, csvField(text).replace(/^"/, "").startsWith("'")]).toEqual([text, true]);
    }
    // A spreadsheet that splits on ";" or "," reads what follows as a new cell.
    for (const text of ["a;=1+2", "a,=cmd|' /C calc'!A0", "Mozilla; @x"]) expect([text, csvField(text).replace(/^"/, "").startsWith("'")]).toEqual([text, true]);
    expect(csvField("Mozilla/5.0 (X11; Linux x86_64)")).toBe('"Mozilla/5.0 (X11; Linux x86_64)"');
    expect(csvField("plain")).toBe("plain");
  });
});
