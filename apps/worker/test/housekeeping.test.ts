import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresTokenStore } from "@tokenvault/store";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { createHarness, MovableClock, type Harness } from "./harness";

const DAY = 86_400_000;

/** Housekeeping: audit retention through purge_audit_log (off by default) and the token store's cleanup. */
describe("housekeeping", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness("housekeeping");
  });
  afterAll(async () => h.close());

  const auditRow = (companyId: string, timestamp: Date) =>
    h.db.prisma.auditLog.create({
      data: { companyId, userId: "alice", action: "CHECK", outcome: "SUCCESS", connectionType: "xero", apiEndpoint: "/check", requestMethod: "GET", responseStatus: 200, timestamp },
    });

  it("keeps every audit row by default and purges rows older than the retention when configured", async () => {
    await auditRow("acme-audit", new Date(Date.now() - 400 * DAY));
    await auditRow("acme-audit", new Date(Date.now() - 10 * DAY));
    const kept = h.worker();
    expect(await kept.jobs.housekeeping()).toEqual({ storeRemoved: null, auditPurged: null });
    expect(await h.db.prisma.auditLog.count({ where: { companyId: "acme-audit" } })).toBe(2);

    const purging = h.worker({ auditRetentionDays: 365 });
    expect((await purging.jobs.housekeeping()).auditPurged).toBe(1);
    const left = await h.db.prisma.auditLog.findMany({ where: { companyId: "acme-audit" } });
    expect(left).toHaveLength(1);
    expect(left[0]!.timestamp.getTime()).toBeGreaterThan(Date.now() - 11 * DAY);
  });

  it("removes expired token store entries through the store's own cleanup", async () => {
    const clock = new MovableClock();
    const store = createPostgresTokenStore(h.db.prisma, { vault: new Vault(createKeyRing(randomBytes(32))), namespace: "housekeeping", clock });
    await store.store("token-short-lived-0001", { id: "short", subject: "svc", expiresAt: new Date(Date.now() + 60_000) });
    await store.store("token-long-lived-00002", { id: "long", subject: "svc", expiresAt: new Date(Date.now() + 3 * DAY) });
    clock.advanceDays(1);
    const worker = h.worker({}, clock, () => store.cleanup());
    expect((await worker.jobs.housekeeping()).storeRemoved).toBe(1);
    const rows = await h.sql<{ n: number }>(`SELECT count(*)::int AS n FROM "TokenStoreEntry" WHERE namespace = 'housekeeping'`);
    expect(rows[0]!.n).toBe(1);
  });
});
