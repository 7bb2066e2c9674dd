import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenError } from "@tokenvault/token";
import { QUEUES } from "../src/boss";
import { createHarness, DAY, eventually, MovableClock, startReceiver, type Harness, type Receiver } from "./harness";

/**
 * A provider outage on the worker's clock: failing days counted once per day, exhaustion after
 * four, signed webhooks once per incident (delivered through pg-boss, retried after a 500) and
 * once on recovery. The receiver verifies every delivery with the standardwebhooks library.
 */
describe("failure policy and webhooks", () => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await createHarness("failures");
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  const row = (id: string) => h.grantOf(id);
  const distinctTypes = () => [...new Map(receiver.verified.map((d) => [d.id, d.type])).values()];

  it("counts failing days once per day, exhausts on day 4, notifies once per incident and once on recovery", async () => {
    const companyId = "acme-outage";
    const connectionId = await h.connect(companyId, "xero");
    const grantId = await h.newestGrantId("xero");
    await h.sim.addFault({ kind: "error", provider: "xero", grantId, status: 503 });
    receiver.failNext = 1;

    const clock = new MovableClock();
    const worker = h.worker({ webhook: { url: receiver.url, secret: receiver.secret }, exhaustAfterDays: 4 }, clock);
    await worker.start({ schedule: false });
    const job = { connectionId, reason: "keep-alive" as const };

    // Day 1, twice: a transient failure is thrown (pg-boss retries it), counted once.
    await expect(worker.jobs.refresh(job)).rejects.toBeInstanceOf(TokenError);
    await expect(worker.jobs.refresh(job)).rejects.toBeInstanceOf(TokenError);
    expect((await row(connectionId)).refreshFailureDays).toBe(1);
    for (const day of [2, 3]) {
      clock.advanceDays(1);
      await expect(worker.jobs.refresh(job)).rejects.toBeInstanceOf(TokenError);
      await expect(worker.jobs.refresh(job)).rejects.toBeInstanceOf(TokenError);
      expect((await row(connectionId)).refreshFailureDays).toBe(day);
      expect((await row(connectionId)).exhaustedAt).toBeNull();
    }
    clock.advanceDays(1);
    await expect(worker.jobs.refresh(job)).resolves.toBe("exhausted");
    const exhausted = await row(connectionId);
    expect(exhausted.refreshFailureDays).toBe(4);
    expect(exhausted.exhaustedAt).not.toBeNull();
    expect(exhausted.incident).toBe("exhausted");

    // Exhausted: not refreshed automatically any more, by a job or by the scan.
    const failedCalls = (await h.sim.getGrant(grantId))!.counters.refreshFailed;
    clock.advanceDays(1);
    await expect(worker.jobs.refresh(job)).resolves.toBe("skipped");
    await h.expireSoon(companyId, "xero", 60_000);
    await worker.jobs.scan();
    const queued = await h.sql(`SELECT 1 FROM pgboss.job WHERE name = $1 AND singleton_key = $2`, [QUEUES.refresh, connectionId]);
    expect(queued).toHaveLength(0);
    expect((await h.sim.getGrant(grantId))!.counters.refreshFailed).toBe(failedCalls);

    // The provider is back and a person forces a refresh: the next scan sees the recovery.
    await h.sim.clearFaults();
    await h.service.refreshNow(companyId, "xero", { userId: "alice" });
    await worker.jobs.scan();
    const recovered = await row(connectionId);
    expect([recovered.refreshFailureDays, recovered.exhaustedAt, recovered.incident, recovered.lastFailureDay]).toEqual([0, null, null, null]);

    // Three events, the first twice (answered 500, then retried).
    await eventually(() => Promise.resolve(receiver.verified.length >= 4 ? true : undefined), 30_000, "the webhook deliveries");
    expect(distinctTypes()).toEqual(["connection.refresh_failed", "connection.exhausted", "connection.recovered"]);
    expect(receiver.rejected).toBe(0);
    // The first delivery was answered 500 and retried with the same webhook-id.
    const first = receiver.verified[0]!;
    expect(receiver.verified.filter((d) => d.id === first.id)).toHaveLength(2);
    expect(first.data).toMatchObject({ connectionId, companyId, provider: "xero", failureDays: 1 });
    expect(JSON.stringify(receiver.verified)).not.toMatch(/access_token|refresh_token/);

    // Healthy refreshes afterwards send nothing more: three events were queued in all.
    await expect(worker.jobs.refresh(job)).resolves.toBe("refreshed");
    const deliveries = await h.sql(`SELECT id FROM pgboss.job WHERE name = $1 UNION ALL SELECT id FROM pgboss.archive WHERE name = $1`, [QUEUES.webhook]);
    expect(deliveries).toHaveLength(3);
    await worker.stop();
  });

  it("does not call a token served during the cooldown a recovery: the job fails and is retried", async () => {
    const companyId = "acme-cooldown";
    const connectionId = await h.connect(companyId, "xero");
    const grantId = await h.newestGrantId("xero");
    await h.expireSoon(companyId, "xero", 60_000);
    const fault = await h.sim.addFault({ kind: "error", provider: "xero", grantId, status: 503 });
    const worker = h.worker({ webhook: { url: receiver.url, secret: receiver.secret } });
    await worker.start({ schedule: false });
    const job = { connectionId, reason: "refresh-ahead" as const };

    const failedBefore = (await h.sim.getGrant(grantId))!.counters.refreshFailed;
    // The job waits for the refresh: when it fails, the provider was asked and the failure is on record.
    await expect(worker.jobs.refresh(job)).rejects.toMatchObject({ code: "PROVIDER_UNAVAILABLE" });
    expect((await h.sim.getGrant(grantId))!.counters.refreshFailed).toBeGreaterThan(failedBefore);
    const failures = await h.db.prisma.auditLog.findMany({ where: { companyId, action: "REFRESH", outcome: "FAILURE" } });
    expect(failures.map((a) => a.userId)).toEqual(["system:worker"]);
    await h.sim.removeFault(fault.id);
    // Inside the service's 30 s cooldown the still-valid token is served without a provider call.
    const calls = (await h.sim.getGrant(grantId))!.counters;
    await expect(worker.jobs.refresh(job)).rejects.toBeInstanceOf(TokenError);
    expect((await h.sim.getGrant(grantId))!.counters).toEqual(calls);
    const connection = await row(connectionId);
    expect([connection.incident, connection.refreshFailureDays]).toEqual(["refresh_failed", 1]);
    await worker.stop();
  });

  // Last in the file: it moves the shared clock (service, worker and simulator) a month ahead.
  it("a 3-day outage, over on day 4: one refresh_failed and one recovered webhook, never exhausted", async () => {
    const companyId = "acme-three-days";
    const connectionId = await h.connect(companyId, "xero");
    const grantId = await h.newestGrantId("xero");
    const worker = h.worker({ webhook: { url: receiver.url, secret: receiver.secret }, exhaustAfterDays: 4 }, h.clock);
    await worker.start({ schedule: false });
    const unfinished = () => h.sql(`SELECT id FROM pgboss.job WHERE name = $1 AND singleton_key = $2 AND state < 'completed'`, [QUEUES.refresh, connectionId]);
    // One scan a day; its keep-alive job runs through pg-boss with its retries, all on that day.
    const scanDay = async () => {
      await h.advance(DAY);
      await worker.jobs.scan();
      await eventually(async () => ((await unfinished()).length === 0 ? true : undefined), 30_000, "the day's refresh job and its retries");
    };
    // Half the idle lifetime on: keep-alive is due every day from here.
    await h.advance(29 * DAY);
    const fault = await h.sim.addFault({ kind: "error", provider: "xero", grantId, status: 503 });
    for (const day of [1, 2, 3]) {
      await scanDay();
      const connection = await row(connectionId);
      expect([connection.refreshFailureDays, connection.exhaustedAt, connection.incident]).toEqual([day, null, "refresh_failed"]);
    }
    await h.sim.removeFault(fault.id);
    await scanDay();
    const recovered = await row(connectionId);
    expect([recovered.refreshFailureDays, recovered.exhaustedAt, recovered.incident]).toEqual([0, null, null]);
    // A healthy day after: nothing more to say.
    await scanDay();

    const queued = await h.sql<{ type: string }>(
      `SELECT data->>'type' AS type FROM pgboss.job WHERE name = $1 AND data->'data'->>'connectionId' = $2
       UNION ALL SELECT data->>'type' FROM pgboss.archive WHERE name = $1 AND data->'data'->>'connectionId' = $2`,
      [QUEUES.webhook, connectionId],
    );
    expect(queued.map((q) => q.type).sort()).toEqual(["connection.recovered", "connection.refresh_failed"]);
    const mine = () => receiver.verified.filter((d) => d.data.connectionId === connectionId);
    await eventually(() => Promise.resolve(mine().length >= 2 ? true : undefined), 30_000, "both deliveries");
    expect(mine().map((d) => d.type)).toEqual(["connection.refresh_failed", "connection.recovered"]);
    expect(mine()[0]!.data).toMatchObject({ failureDays: 1, provider: "xero", companyId });
    expect(mine()[1]!.data).toMatchObject({ previousIncident: "refresh_failed" });
    expect(receiver.rejected).toBe(0);
    // Three failing days, each tried with retries: the provider was asked more than three times.
    expect((await h.sim.getGrant(grantId))!.counters.refreshFailed).toBeGreaterThan(3);
    await worker.stop();
  });
});
