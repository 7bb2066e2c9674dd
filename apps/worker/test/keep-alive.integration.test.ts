import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUES } from "../src/boss";
import { WORKER_USER } from "../src/jobs";
import { createHarness, DAY, eventually, type Harness } from "./harness";

/**
 * Xero's refresh token dies after 60 days unused. A connection nobody uses is kept alive by the
 * worker alone: the service's, the worker's and the simulator's clocks move together a day at a
 * time, a scan runs each day, and its jobs run through pg-boss.
 */
describe("keep-alive on the simulator's clock", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness("keep_alive");
  });
  afterAll(async () => h.close());

  const pending = () => h.sql(`SELECT id FROM pgboss.job WHERE name = $1 AND state < 'completed'`, [QUEUES.refresh]);

  it("keeps an idle Xero grant alive past 60 days: refreshed by day 30 at the latest, still usable on day 120", async () => {
    const companyId = "acme-idle";
    await h.connect(companyId, "xero");
    const grantId = await h.newestGrantId("xero");
    const connectedAt = h.clock.now().getTime();

    // Control: a connection the worker leaves alone (exhausted) is refused by the simulator after 60 idle days.
    const control = await h.connect("acme-control", "xero");
    await h.db.prisma.oAuthGrant.update({ where: { id: (await h.grantOf(control)).id }, data: { exhaustedAt: new Date(), incident: "exhausted" } });

    const worker = h.worker({}, h.clock);
    await worker.start({ schedule: false });
    let scheduled: Date | null = null;
    for (let day = 1; day <= 120; day++) {
      await h.advance(DAY);
      // What the dashboard says on day 1 (the first access token long expired): the keep-alive.
      if (day === 1) scheduled = (await h.service.listConnections(companyId)).find((c) => c.provider === "xero")!.nextRefreshAt;
      await worker.jobs.scan();
      await eventually(async () => ((await pending()).length === 0 ? true : undefined), 30_000, `day ${day}'s refresh jobs`);
      // Nobody used either grant: after 59 idle days the watched one still works at the simulator.
      if (day === 59) {
        const grant = (await h.sim.getGrant(grantId))!;
        expect(grant.refreshTokens.find((t) => t.id === grant.currentRefreshTokenId)?.state).toBe("current");
      }
    }

    // The worker's refreshes, by day on the moved clock: the first by day 30, then at most 30 days apart.
    const refreshes = await h.db.prisma.auditLog.findMany({ where: { companyId, action: "REFRESH", outcome: "SUCCESS" }, orderBy: { timestamp: "asc" } });
    expect(refreshes.every((r) => r.userId === WORKER_USER)).toBe(true);
    const days = refreshes.map((r) => Math.round((r.timestamp.getTime() - connectedAt) / DAY));
    expect(days.length).toBeGreaterThanOrEqual(4);
    expect(days[0]!).toBeLessThanOrEqual(30);
    // The worker refreshed on the day the dashboard's "next scheduled refresh" named.
    expect(days[0]).toBe(Math.round((scheduled!.getTime() - connectedAt) / DAY));
    for (let i = 1; i < days.length; i++) expect(days[i]! - days[i - 1]!).toBeLessThanOrEqual(30);
    expect((await h.sim.getGrant(grantId))!.counters.refreshSuccess).toBe(refreshes.length);

    // Day 120, an hour on (the access token has expired): a caller gets a valid token, the simulator accepted one more refresh.
    await h.advance(3_600_000);
    const before = (await h.sim.getGrant(grantId))!.counters.refreshSuccess;
    const token = await h.service.getValidToken(companyId, "xero", "alice");
    expect(token.expiresAt.getTime()).toBeGreaterThan(h.clock.now().getTime());
    expect((await h.sim.getGrant(grantId))!.counters.refreshSuccess).toBe(before + 1);
    await expect(h.service.getValidToken("acme-control", "xero", "alice")).rejects.toMatchObject({ code: "REAUTH_REQUIRED" });
    await worker.stop();
  });
});
