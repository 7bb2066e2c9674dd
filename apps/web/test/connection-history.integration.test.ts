import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, Prisma, type Database } from "@tokenvault/db";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { connectionHistorySql, ProviderRegistry, quickbooksAdapter, silentLogger, SIMULATOR_CLIENTS, simulatorQuickbooksEndpoints, simulatorXeroEndpoints, TokenService, xeroAdapter } from "@tokenvault/token";
import { AuditLogQuery } from "@tokenvault/token/audit";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { createCaller } from "~/server/api/root";
import { createContext } from "~/server/api/trpc";
import type { Caller } from "~/server/auth/caller";
import { PickerOffers } from "~/server/api/picker-offers";

const DAY = 86_400_000;
const NOW = new Date("2026-12-02T15:00:00.000Z");
const bob: Caller = { userId: "bob", companyId: "acme", role: "member", name: "Bob" };
const carol: Caller = { userId: "carol", companyId: "globex", role: "admin", name: "Carol" };
const erin: Caller = { userId: "erin", companyId: "initech", role: "member", name: "Erin" };

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

/** connection.history: daily buckets of REFRESH and CHECK audit rows, the caller's company only, from real PostgreSQL. */
describe("the connection health history", () => {
  let database: TestDatabase;
  let db: Database;
  let service: TokenService;
  const api = async (caller: Caller | null) =>
    createCaller(
      await createContext(
        { resolveSession: () => Promise.resolve(caller), services: () => Promise.resolve({ tokenService: service, auditLog: new AuditLogQuery(db.prisma), pickerOffers: new PickerOffers("unused here") }) },
        { headers: new Headers() },
      ),
    );
  const row = (companyId: string, connectionType: string, action: "REFRESH" | "CHECK" | "TOKEN_READ", outcome: "SUCCESS" | "FAILURE", msAgo: number, responseTime: number | null) => ({
    companyId,
    connectionType,
    action,
    outcome,
    userId: "system:worker",
    apiEndpoint: "/token",
    requestMethod: "POST",
    responseStatus: outcome === "SUCCESS" ? 200 : 503,
    responseTime,
    timestamp: new Date(NOW.getTime() - msAgo),
  });

  beforeAll(async () => {
    database = await createTestDatabase("history");
    db = await openDatabase({ databaseUrl: database.url });
    const dead = "http://127.0.0.1:9";
    service = new TokenService({
      prisma: db.prisma,
      vault: new Vault(createKeyRing(randomBytes(32))),
      providers: new ProviderRegistry([
        quickbooksAdapter({ ...SIMULATOR_CLIENTS.quickbooks, environment: "sandbox", endpoints: simulatorQuickbooksEndpoints(dead) }),
        xeroAdapter({ ...SIMULATOR_CLIENTS.xero, endpoints: simulatorXeroEndpoints(dead) }),
      ]),
      clock: { now: () => NOW },
      logger: silentLogger,
    });
    await db.prisma.auditLog.createMany({
      data: [
        // Today (15:00 UTC): two refreshes (100 and 300 ms), one failed check.
        row("acme", "xero", "REFRESH", "SUCCESS", 1 * 3_600_000, 100),
        row("acme", "xero", "REFRESH", "SUCCESS", 14 * 3_600_000, 300),
        row("acme", "xero", "CHECK", "FAILURE", 2 * 3_600_000, 50),
        // Yesterday at 23:30 UTC: a failed refresh.
        row("acme", "xero", "REFRESH", "FAILURE", 15.5 * 3_600_000, 2_000),
        // Six days ago: the oldest day of 7. Eight days ago: only in 30. 31 days ago: in neither.
        row("acme", "xero", "CHECK", "SUCCESS", 6 * DAY, 80),
        row("acme", "xero", "REFRESH", "SUCCESS", 8 * DAY, 90),
        row("acme", "xero", "REFRESH", "SUCCESS", 31 * DAY, 90),
        // Not this history: another action, another provider, another company.
        row("acme", "xero", "TOKEN_READ", "SUCCESS", 3_600_000, null),
        row("acme", "quickbooks", "REFRESH", "SUCCESS", 3_600_000, 70),
        row("globex", "xero", "REFRESH", "FAILURE", 3_600_000, 40),
      ],
    });
  });
  afterAll(async () => {
    await service.close();
    await db.close();
    await database.drop();
  });

  it("buckets a member's own company's refreshes and checks by UTC day, every day present, for 7 and 30 days", async () => {
    const week = await (await api(bob)).connection.history({ provider: "xero", days: 7 });
    expect(week.map((d) => d.day)).toEqual(["2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]);
    expect(week.at(-1)).toEqual({ day: "2026-12-02", refreshSuccess: 2, refreshFailure: 0, checkSuccess: 0, checkFailure: 1, refreshLatencyMs: 200, checkLatencyMs: 50 });
    expect(week.at(-2)).toEqual({ day: "2026-12-01", refreshSuccess: 0, refreshFailure: 1, checkSuccess: 0, checkFailure: 0, refreshLatencyMs: 2_000, checkLatencyMs: null });
    expect(week[0]).toMatchObject({ day: "2026-11-26", checkSuccess: 1, checkLatencyMs: 80 });
    expect(week.slice(1, 5).every((d) => d.refreshSuccess + d.refreshFailure + d.checkSuccess + d.checkFailure === 0)).toBe(true);

    const month = await (await api(bob)).connection.history({ provider: "xero", days: 30 });
    expect(month).toHaveLength(30);
    expect(month[0]!.day).toBe("2026-11-03");
    expect(month.reduce((n, d) => n + d.refreshSuccess, 0)).toBe(3);
    expect(month.find((d) => d.day === "2026-11-24")).toMatchObject({ refreshSuccess: 1, refreshLatencyMs: 90 });
  });

  it("shows another company only its own rows, and refuses the signed-out and a range other than 7 or 30", async () => {
    const theirs = await (await api(carol)).connection.history({ provider: "xero", days: 7 });
    expect(theirs.reduce((n, d) => n + d.refreshFailure + d.refreshSuccess + d.checkSuccess + d.checkFailure, 0)).toBe(1);
    await expect((await api(null)).connection.history({ provider: "xero", days: 7 })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect((await api(bob)).connection.history({ provider: "xero", days: 14 as 7 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(service.connectionHistory("acme", "xero", 14 as 7)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("per connection (by id): its own checks and its grant's refreshes, whichever of the grant's connections recorded them; another company's id is NOT_FOUND", async () => {
    // One Xero grant serving two organisations, and a QuickBooks connection on a grant of its own.
    const [xeroGrant, qboGrant] = [randomUUID(), randomUUID()];
    await db.prisma.oAuthGrant.createMany({ data: [xeroGrant, qboGrant].map((id, i) => ({ id, companyId: "initech", provider: i === 0 ? "xero" : "quickbooks", connectedBy: "erin" })) });
    const [x1, x2, q] = [randomUUID(), randomUUID(), randomUUID()];
    await db.prisma.connection.createMany({
      data: [
        { id: x1, companyId: "initech", provider: "xero", grantId: xeroGrant, externalId: "tenant-1", displayName: "One", connectedBy: "erin" },
        { id: x2, companyId: "initech", provider: "xero", grantId: xeroGrant, externalId: "tenant-2", displayName: "Two", connectedBy: "erin" },
        { id: q, companyId: "initech", provider: "quickbooks", grantId: qboGrant, externalId: "realm-1", displayName: "", connectedBy: "erin" },
      ],
    });
    const of = (connectionId: string, action: "REFRESH" | "CHECK", outcome: "SUCCESS" | "FAILURE", responseTime: number) => ({ ...row("initech", connectionId === q ? "quickbooks" : "xero", action, outcome, 3_600_000, responseTime), connectionId });
    await db.prisma.auditLog.createMany({ data: [of(x1, "CHECK", "SUCCESS", 40), of(x2, "CHECK", "FAILURE", 60), of(x2, "REFRESH", "SUCCESS", 300), of(q, "REFRESH", "SUCCESS", 10), of(q, "CHECK", "SUCCESS", 20)] });

    const today = async (connectionId: string) => (await (await api(erin)).connection.history({ connectionId, days: 7 })).at(-1);
    expect(await today(x1)).toEqual({ day: "2026-12-02", refreshSuccess: 1, refreshFailure: 0, checkSuccess: 1, checkFailure: 0, refreshLatencyMs: 300, checkLatencyMs: 40 });
    expect(await today(x2)).toEqual({ day: "2026-12-02", refreshSuccess: 1, refreshFailure: 0, checkSuccess: 0, checkFailure: 1, refreshLatencyMs: 300, checkLatencyMs: 60 });
    expect(await today(q)).toEqual({ day: "2026-12-02", refreshSuccess: 1, refreshFailure: 0, checkSuccess: 1, checkFailure: 0, refreshLatencyMs: 10, checkLatencyMs: 20 });
    // The provider form still answers the company's connections of the provider together.
    expect((await (await api(erin)).connection.history({ provider: "xero", days: 7 })).at(-1)).toMatchObject({ refreshSuccess: 1, checkSuccess: 1, checkFailure: 1 });
    // Scoped to the caller's company; an id that names nothing is NOT_FOUND too, a malformed one bad input.
    await expect((await api(carol)).connection.history({ connectionId: x1, days: 7 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect((await api(erin)).connection.history({ connectionId: randomUUID(), days: 7 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect((await api(erin)).connection.history({ connectionId: "x", days: 7 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(service.connectionHistory({ connectionId: x1, companyId: "globex" }, 7)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await service.connectionHistory({ connectionId: x1 }, 30)).reduce((n, d) => n + d.checkSuccess, 0)).toBe(1);
  });

  it("is one statement served by the (companyId, connectionType, timestamp) index, not a scan of the audit log", async () => {
    await db.prisma.$executeRawUnsafe(`
      INSERT INTO "AuditLog" ("id", "timestamp", "companyId", "userId", "action", "outcome", "connectionType", "apiEndpoint", "requestMethod", "responseStatus", "responseTime")
      SELECT gen_random_uuid(), now() - (g % 90) * interval '1 day', 'c' || (g % 500), 'u', (ARRAY['REFRESH','CHECK','TOKEN_READ'])[1 + g % 3]::"AuditAction",
             'SUCCESS', CASE WHEN g % 2 = 0 THEN 'xero' ELSE 'quickbooks' END, '/x', 'GET', 200, g % 700
        FROM generate_series(1, 20000) AS g`);
    await db.prisma.$executeRawUnsafe(`ANALYZE "AuditLog"`);
    const sql = connectionHistorySql("c42", "xero", new Date(NOW.getTime() - 30 * DAY), NOW);
    const [plan] = await db.prisma.$queryRaw<{ "QUERY PLAN": { Plan: PlanNode }[] }[]>(Prisma.sql`EXPLAIN (FORMAT JSON) ${sql}`);
    const nodes = nodesOf(plan!["QUERY PLAN"][0]!.Plan);
    expect(nodes.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"])).toEqual([]);
    expect(nodes.map((n) => n["Index Name"]).filter(Boolean)).toContain("AuditLog_companyId_connectionType_timestamp_id_idx");

    // One connection's: the (companyId, connectionId, timestamp) index.
    const one = connectionHistorySql("c42", { connectionId: randomUUID(), grantConnections: [randomUUID(), randomUUID()] }, new Date(NOW.getTime() - 30 * DAY), NOW);
    const [byId] = await db.prisma.$queryRaw<{ "QUERY PLAN": { Plan: PlanNode }[] }[]>(Prisma.sql`EXPLAIN (FORMAT JSON) ${one}`);
    const idNodes = nodesOf(byId!["QUERY PLAN"][0]!.Plan);
    expect(idNodes.filter((n) => n["Node Type"] === "Seq Scan").map((n) => n["Relation Name"])).toEqual([]);
    expect(idNodes.map((n) => n["Index Name"]).filter(Boolean)).toContain("AuditLog_companyId_connectionId_timestamp_id_idx");
  });
});
