import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger, type TokenService } from "@tokenvault/token";
import { QUEUES } from "../src/boss";
import { TokenvaultWorker } from "../src/worker";
import { createHarness, eventually, TEST_CONFIG, type Harness } from "./harness";

const MINUTE = 60_000;
const PROVIDER_TIMEOUT_MS = 8_000; // shorter than the harness's 10 s lease, as the options require
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two workers and two web processes, each a token service with its own database pool and LISTEN
 * connection: whatever races, the provider is asked once per connection per due time.
 */
describe("two workers and two web processes", () => {
  let h: Harness;
  let webs: TokenService[];
  let workers: TokenvaultWorker[];
  const connections: { companyId: string; provider: "xero" | "quickbooks"; id: string; grantId: string }[] = [];
  beforeAll(async () => {
    h = await createHarness("many_processes");
    for (let i = 0; i < 4; i++) {
      for (const provider of ["xero", "quickbooks"] as const) {
        const companyId = `acme-${i}`;
        const id = await h.connect(companyId, provider);
        connections.push({ companyId, provider, id, grantId: await h.newestGrantId(provider === "xero" ? "xero" : "intuit") });
      }
    }
    // The provider answers after 1 s (below); a 2 s timeout, on a machine busy with other suites,
    // expired while the answer was on its way, and the refresh was rightly sent again: two
    // refreshes at the provider for one expiry, none of them a race between processes.
    webs = [await h.newService(PROVIDER_TIMEOUT_MS), await h.newService(PROVIDER_TIMEOUT_MS)];
    workers = [];
    for (let i = 0; i < 2; i++) {
      const service = await h.newService(PROVIDER_TIMEOUT_MS);
      workers.push(new TokenvaultWorker({ target: { connectionString: h.databaseUrl }, service, config: TEST_CONFIG, clock: h.clock, logger: silentLogger }));
    }
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await h.close();
  });

  /** Every access token expires in 4 minutes: inside the worker's refresh-ahead window and the web's margin. */
  const makeDue = () =>
    h.db.prisma.tokenSecret.updateMany({
      where: { kind: "ACCESS_TOKEN" },
      data: { expiresAt: new Date(h.clock.now().getTime() + 4 * MINUTE), lastRefreshedAt: new Date(h.clock.now().getTime() - 60 * MINUTE) },
    });
  const unfinished = () => h.sql(`SELECT id FROM pgboss.job WHERE name = $1 AND state < 'completed'`, [QUEUES.refresh]);

  it("both workers start at the same moment on a fresh database (pg-boss creates its queues without failing either)", async () => {
    const started = await Promise.allSettled(workers.map((w) => w.start({ schedule: false })));
    expect(started.map((s) => (s.status === "rejected" ? String(s.reason) : s.status))).toEqual(["fulfilled", "fulfilled"]);
    const queues = await h.sql<{ name: string }>(`SELECT name FROM pgboss.queue WHERE name LIKE 'tokenvault-%' ORDER BY name`);
    expect(queues.map((q) => q.name)).toEqual(Object.values(QUEUES).sort());
  });

  it("refreshes each connection exactly once per due time (counted at the simulator)", async () => {
    // A slow provider widens the race: callers arrive while a refresh is in flight.
    await h.sim.addFault({ kind: "latency", latencyMs: 1_000, endpoint: "token" });
    for (const round of [1, 2]) {
      await h.advance(60 * MINUTE);
      await makeDue();
      const scans = Promise.all([workers[0]!.jobs.scan(), workers[1]!.jobs.scan(), workers[0]!.jobs.scan(), workers[1]!.jobs.scan()]);
      // The web processes ask for every token, again and again, while the workers' jobs run: in
      // round 1 at once (they start most refreshes), in round 2 once every job's refresh holds its
      // lease or is done (they then wait for, or read, the workers' writes).
      if (round === 2) {
        const refreshed = { kind: "ACCESS_TOKEN" as const, expiresAt: { gt: new Date(h.clock.now().getTime() + 10 * MINUTE) } };
        const settled = () => h.db.prisma.oAuthGrant.count({ where: { OR: [{ leaseOwner: { not: null } }, { secrets: { some: refreshed } }] } });
        await eventually(async () => ((await settled()) === connections.length ? true : undefined), 30_000, "the workers' leases");
      }
      const until = Date.now() + 2_000;
      while (Date.now() < until) {
        const tokens = await Promise.all(webs.flatMap((web) => connections.map((c) => web.getValidToken(c.companyId, c.provider, "web-user"))));
        for (const token of tokens) expect(token.expiresAt.getTime()).toBeGreaterThan(h.clock.now().getTime());
        await sleep(50);
      }
      const enqueued = (await scans).reduce((sum, s) => sum + s.enqueued, 0);
      expect(enqueued).toBeGreaterThanOrEqual(connections.length);
      await Promise.all(webs.map((web) => web.idle()));
      await eventually(async () => ((await unfinished()).length === 0 ? true : undefined), 30_000, "the refresh jobs");

      for (const c of connections) {
        const grant = (await h.sim.getGrant(c.grantId))!;
        expect([c.companyId, c.provider, grant.counters.refreshSuccess, grant.counters.refreshFailed]).toEqual([c.companyId, c.provider, round, 0]);
        const audited = await h.db.prisma.auditLog.count({ where: { companyId: c.companyId, connectionType: c.provider, action: "REFRESH", outcome: "SUCCESS" } });
        expect(audited).toBe(round);
      }
      if (round === 2) {
        const last = await h.db.prisma.auditLog.findMany({ where: { action: "REFRESH" }, orderBy: { timestamp: "desc" }, take: connections.length });
        expect(last.map((r) => r.userId)).toEqual(connections.map(() => "system:worker"));
      }
    }
  });
});
