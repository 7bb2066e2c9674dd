// A slow provider holds no database connection: with the provider answering after 10 s and a
// pool of N connections, 5×N refreshes of different connections are all waiting on the provider
// while database-only calls (token status, the audit log) keep answering. Asserted by order
// (they answer while every refresh is still in flight), not by timing.
import { openDatabase, type Database } from "@tokenvault/db";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AuditLogQuery } from "../src/audit/audit-log-query";
import { silentLogger } from "../src/logger";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS, type Harness } from "./harness";

const POOL = 3;
const REFRESHES = 5 * POOL;
const PROVIDER_DELAY_MS = 10_000;

describe("a slow provider does not starve the database pool", () => {
  let h: Harness;
  let small: Database;
  let service: TokenService;

  beforeAll(async () => {
    h = await createHarness(inject("databaseUrl"), { strict: true });
    small = await openDatabase({ databaseUrl: inject("databaseUrl"), pool: { max: POOL, connectTimeoutMs: 5_000, queryTimeoutMs: 10_000 } });
    // The provider call may take the whole delay: the timeout and the lease allow it.
    service = new TokenService({ prisma: small.prisma, vault: h.vault, providers: registryFor(h.sim.url), logger: silentLogger, options: { ...TEST_OPTIONS, providerTimeoutMs: 3 * PROVIDER_DELAY_MS, leaseMs: 6 * PROVIDER_DELAY_MS } });
  });
  afterAll(async () => {
    await h.sim.clearFaults();
    await service?.close();
    await small?.close();
    await h?.close();
  });

  it(`${REFRESHES} refreshes stalled at the provider, pool of ${POOL}: status and audit reads answer meanwhile`, async () => {
    const companies = Array.from({ length: REFRESHES }, (_, i) => `slow-${i}`);
    const direct = h.service();
    for (const company of companies) await h.connect(direct, company, "xero");
    for (const company of companies) await h.expire(company, "xero");
    const before = new Map(await Promise.all(companies.map(async (c) => [c, (await service.getTokenStatus(c, "xero")).accessTokenExpiresAt?.getTime()] as const)));

    const fault = await h.sim.addFault({ kind: "latency", provider: "xero", endpoint: "token", latencyMs: PROVIDER_DELAY_MS });
    let settled = 0;
    const refreshes = companies.map((company) =>
      service.getValidToken(company, "xero", "refresher").finally(() => {
        settled++;
      }),
    );

    // Every refresh has reached the provider (and waits there) before the database-only calls start.
    for (;;) {
      const hits = (await h.sim.listFaults()).find((f) => f.id === fault.id)?.hits ?? 0;
      if (hits >= REFRESHES) break;
      expect(settled, "no refresh finished before all had reached the provider").toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const auditLog = new AuditLogQuery(small.prisma);
    for (let round = 0; round < 3; round++) {
      const statuses = await Promise.all(companies.map((c) => service.getTokenStatus(c, "xero")));
      expect(statuses.map((s) => s.status)).toEqual(companies.map(() => "VALID"));
      const pages = await Promise.all(companies.slice(0, POOL * 2).map((c) => auditLog.list(c)));
      expect(pages.every((page) => page.items.length > 0)).toBe(true);
      expect((await service.listConnections(companies[0]!)).find((c) => c.provider === "xero")?.connected).toBe(true);
    }
    expect(settled, "the database-only calls answered while every refresh was still at the provider").toBe(0);

    const tokens = await Promise.all(refreshes);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(REFRESHES);
    for (const company of companies) {
      const after = await service.getTokenStatus(company, "xero");
      expect(after.accessTokenExpiresAt!.getTime(), company).toBeGreaterThan(before.get(company)!);
    }
    const refreshRows = await h.db.prisma.auditLog.count({ where: { companyId: { in: companies }, action: "REFRESH", outcome: "SUCCESS" } });
    expect(refreshRows).toBe(REFRESHES);
  }, 60_000);
});
