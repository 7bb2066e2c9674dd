import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { TokenService } from "../src/token-service";
import { createHarness, type Harness } from "./harness";

let h: Harness;
let company: string;

beforeAll(async () => {
  h = await createHarness(inject("databaseUrl"));
});
afterAll(() => h.close());
beforeEach(async () => {
  company = `co-${randomUUID().slice(0, 8)}`;
  await h.sim.clearFaults();
});

/** Counts QuickBooks API calls at the simulator: a zero-latency fault on the API endpoint counts its hits. */
async function countApiCalls(): Promise<() => Promise<number>> {
  const { id } = await h.sim.addFault({ kind: "latency", latencyMs: 0, provider: "intuit", endpoint: "api" });
  return async () => (await h.sim.listFaults()).find((f) => f.id === id)!.hits;
}

async function checkRows(): Promise<number> {
  return h.db.prisma.auditLog.count({ where: { companyId: company, action: "CHECK" } });
}

describe("live checks are coalesced per connection", () => {
  it("20 concurrent checks in one process make one provider call and get its result", async () => {
    const service = h.service();
    await h.connect(service, company, "quickbooks");
    const calls = await countApiCalls();
    const results = await Promise.all(Array.from({ length: 20 }, () => service.checkConnection(company, "quickbooks", { userId: "alice" })));
    expect(await calls()).toBe(1);
    expect(new Set(results.map((r) => `${r.status}@${r.lastChecked.toISOString()}`)).size).toBe(1);
    expect(results[0]!.status).toBe("HEALTHY");
    expect(await checkRows()).toBe(1);
  });

  it("across processes: within the window another service answers with the recorded health; after it, a new call is made", async () => {
    const first: TokenService = h.service();
    const second: TokenService = h.service();
    await h.connect(first, company, "quickbooks");
    const calls = await countApiCalls();
    const checked = await first.checkConnection(company, "quickbooks", { userId: "alice" });
    const again = await second.checkConnection(company, "quickbooks", { userId: "bob" });
    expect(await calls()).toBe(1);
    expect(again).toEqual(checked);
    expect(await checkRows()).toBe(1);

    // The window has passed (moved back rather than waited for).
    await h.db.prisma.$executeRaw`UPDATE "ConnectionHealth" SET "liveCheckAt" = "liveCheckAt" - interval '11 seconds' WHERE "companyId" = ${company}`;
    await second.checkConnection(company, "quickbooks", { userId: "bob" });
    expect(await calls()).toBe(2);
    expect(await checkRows()).toBe(2);
  });

  it("a reconnect opens the window again: the new grant's first check is live", async () => {
    const service = h.service();
    await h.pinRealm(); // the reconnect names the same QuickBooks company
    await h.connect(service, company, "quickbooks");
    const calls = await countApiCalls();
    await service.checkConnection(company, "quickbooks", { userId: "alice" });
    await h.connect(service, company, "quickbooks");
    await service.checkConnection(company, "quickbooks", { userId: "alice" });
    expect(await calls()).toBe(2);
    expect(await checkRows()).toBe(2);
  });

  it("the window is configurable", async () => {
    const service = h.service({ checkCoalesceMs: 0 });
    await h.connect(service, company, "quickbooks");
    const calls = await countApiCalls();
    await service.checkConnection(company, "quickbooks", { userId: "alice" });
    await service.checkConnection(company, "quickbooks", { userId: "alice" });
    expect(await calls()).toBe(2);
  });
});
