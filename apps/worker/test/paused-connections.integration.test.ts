import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUES } from "../src/boss";
import { WORKER_USER } from "../src/jobs";
import { createHarness, DAY, eventually, type Harness } from "./harness";

/**
 * A paused connection (tokenService.disableConnection) is neither refreshed ahead nor kept alive
 * by the worker, and nothing is revoked; a Xero grant shared by two organisations is still kept
 * alive while one of them is enabled. Scans and jobs run through pg-boss, the simulator over HTTP.
 */
describe("the worker and paused connections", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness("paused");
  });
  afterAll(async () => h.close());

  const pending = () => h.sql(`SELECT id FROM pgboss.job WHERE name = $1 AND state < 'completed'`, [QUEUES.refresh]);
  const workerRefreshes = (companyId: string) => h.db.prisma.auditLog.count({ where: { companyId, action: "REFRESH", userId: WORKER_USER } });

  it("skips a paused grant on the scan and in a job, keeps a shared grant alive while one organisation is enabled, and refreshes again once resumed", async () => {
    // Xero: its 60-day idle lifetime makes both grants due for their keep-alive by day 31.
    const alone = await h.connect("acme-paused", "xero");
    const aloneGrant = await h.newestGrantId("xero");
    // One consent, two organisations: one grant serving two connections.
    await h.sim.updateSettings({ xeroTenantsPerAuthorization: 2 });
    try {
      await h.connect("acme-shared", "xero");
    } finally {
      await h.sim.updateSettings({ xeroTenantsPerAuthorization: 1 });
    }
    const shared = await h.db.prisma.connection.findMany({ where: { companyId: "acme-shared" }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    expect(shared).toHaveLength(2);
    const sharedGrant = await h.newestGrantId("xero");
    await h.service.disableConnection({ connectionId: alone }, { userId: "alice" });
    // The grant's first connection (the one its jobs name) paused; the second still enabled.
    await h.service.disableConnection({ connectionId: shared[0]!.id }, { userId: "alice" });

    const worker = h.worker({}, h.clock);
    await worker.start({ schedule: false });
    // 31 idle days: both grants are due for their keep-alive, and their access tokens long expired.
    await h.advance(31 * DAY);
    await worker.jobs.scan();
    await eventually(async () => ((await pending()).length === 0 ? true : undefined), 30_000, "the scan's refresh jobs");
    expect(await workerRefreshes("acme-shared")).toBe(1);
    expect((await h.sim.getGrant(sharedGrant))!.counters.refreshSuccess).toBe(1);
    expect(await workerRefreshes("acme-paused")).toBe(0);

    // A job that names the paused grant anyway (queued before the pause) is skipped, with no provider call.
    expect(await worker.jobs.refresh({ connectionId: alone, reason: "keep-alive" })).toBe("skipped");
    const simGrant = (await h.sim.getGrant(aloneGrant))!;
    expect([simGrant.counters.refreshSuccess, simGrant.status]).toEqual([0, "active"]);
    await expect(h.service.getValidToken({ connectionId: alone })).rejects.toMatchObject({ code: "CONNECTION_DISABLED" });

    // Resumed: the next scan keeps it alive again.
    await h.service.enableConnection({ connectionId: alone }, { userId: "alice" });
    await worker.jobs.scan();
    await eventually(async () => ((await pending()).length === 0 ? true : undefined), 30_000, "the next scan's refresh jobs");
    expect(await workerRefreshes("acme-paused")).toBe(1);
    expect((await h.sim.getGrant(aloneGrant))!.counters.refreshSuccess).toBe(1);
    await worker.stop();
  });
});
