import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUES } from "../src/boss";
import { createHarness, eventually, type Harness, refreshJobsOf } from "./harness";

/** The worker end to end: pg-boss in the test database, the simulator over HTTP. */
describe("refresh jobs through pg-boss", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness("refresh");
  });
  afterAll(async () => h.close());

  const jobsOf = (connectionId: string) => refreshJobsOf(h, connectionId);

  it("refreshes a connection whose access token is about to expire, once, before anyone asks", async () => {
    const connectionId = await h.connect("acme-ahead", "xero");
    const grantId = await h.newestGrantId("xero");
    await h.expireSoon("acme-ahead", "xero", 60_000);
    const before = (await h.sim.getGrant(grantId))!.counters.refreshSuccess;

    const worker = h.worker();
    await worker.start({ schedule: false });
    await worker.boss.send(QUEUES.scan, {});

    const access = await eventually(async () => {
      const row = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { grantId: (await h.grantOf(connectionId)).id, kind: "ACCESS_TOKEN" } });
      return row.expiresAt! > new Date(Date.now() + 20 * 60_000) ? row : undefined;
    }, 30_000, "the refreshed access token");
    expect(access.state).toBe("VALID");
    const done = await eventually(async () => {
      const jobs = await jobsOf(connectionId);
      return jobs.length === 1 && jobs[0]!.state === "completed" ? jobs[0] : undefined;
    });
    // The job's first run saw its own refresh through (no retry): it waited for the outcome.
    expect([done.output?.outcome, done.retry_count]).toEqual(["refreshed", 0]);
    expect((await h.sim.getGrant(grantId))!.counters.refreshSuccess).toBe(before + 1);
    const audit = await h.db.prisma.auditLog.findMany({ where: { companyId: "acme-ahead", action: "REFRESH" } });
    expect(audit.map((a) => [a.outcome, a.userId])).toEqual([["SUCCESS", "system:worker"]]);
    await worker.stop();
  });

  it("marks a connection expired at once on invalid_grant: one provider call, no retry, job completed", async () => {
    const connectionId = await h.connect("acme-revoked", "quickbooks");
    const grantId = await h.newestGrantId("intuit");
    await h.sim.revokeGrant(grantId);
    await h.expireSoon("acme-revoked", "quickbooks", 60_000);

    const worker = h.worker();
    await worker.start({ schedule: false });
    await worker.boss.send(QUEUES.scan, {});

    const job = await eventually(async () => {
      const jobs = await jobsOf(connectionId);
      return jobs.length === 1 && jobs[0]!.state === "completed" ? jobs[0] : undefined;
    }, 30_000, "the refresh job");
    expect(job.output?.outcome).toBe("expired");
    expect(job.retry_count).toBe(0);
    const grant = (await h.sim.getGrant(grantId))!;
    expect(grant.counters.invalidGrant).toBe(1);
    const secrets = await h.db.prisma.tokenSecret.findMany({ where: { grantId: (await h.grantOf(connectionId)).id, kind: { in: ["ACCESS_TOKEN", "REFRESH_TOKEN"] } } });
    expect(secrets.map((s) => s.state)).toEqual(["EXPIRED", "EXPIRED"]);
    const connection = await h.grantOf(connectionId);
    expect(connection.incident).toBe("expired");
    expect(connection.refreshFailureDays).toBe(0);

    // A later scan does not try again: an expired grant waits for a person.
    await worker.jobs.scan();
    expect(await jobsOf(connectionId)).toHaveLength(1);
    expect((await h.sim.getGrant(grantId))!.counters.invalidGrant).toBe(1);
    await worker.stop();
  });

  it("two workers scanning at once refresh a due connection once", async () => {
    const connectionId = await h.connect("acme-two", "xero");
    const grantId = await h.newestGrantId("xero");
    await h.expireSoon("acme-two", "xero", 60_000);
    const before = (await h.sim.getGrant(grantId))!.counters.refreshSuccess;
    const [a, b] = [h.worker(), h.worker()];
    await Promise.all([a.start({ schedule: false }), b.start({ schedule: false })]);

    await Promise.all([a.jobs.scan(), b.jobs.scan(), a.jobs.scan(), b.jobs.scan()]);
    const done = await eventually(async () => {
      const jobs = await jobsOf(connectionId);
      return jobs.length > 0 && jobs.every((j) => j.state === "completed") ? jobs : undefined;
    }, 30_000, "the refresh job");
    // The queue holds one waiting and one running job per connection: a scan that came after the
    // first job started may queue a second, which finds the connection fresh and skips.
    expect(done.map((j) => j.output?.outcome).sort()).toEqual(done.length === 1 ? ["refreshed"] : ["refreshed", "skipped"]);
    expect((await h.sim.getGrant(grantId))!.counters.refreshSuccess).toBe(before + 1);
    await Promise.all([a.stop(), b.stop()]);
  });

  it("takes the next waiting refresh job as soon as one ends, not one polling interval later", async () => {
    // pg-boss waits the polling interval after every fetch, even one that found a job: one
    // refresh slot would do one refresh per interval (10 slots at the default 2 s: 5 a second,
    // fewer than 10,000 Xero connections renewed every 30 minutes need).
    const companies = ["acme-q1", "acme-q2", "acme-q3", "acme-q4"];
    const ids: string[] = [];
    for (const company of companies) {
      ids.push(await h.connect(company, "xero"));
      await h.expireSoon(company, "xero", 60_000);
    }
    // Queued by a worker with no refresh slot, before the measured one starts (its first fetch finds them).
    const sender = h.worker({ concurrency: 0 });
    await sender.start({ schedule: false });
    for (const connectionId of ids) await sender.jobs.enqueueRefresh({ connectionId, reason: "refresh-ahead" });
    await sender.stop();
    const worker = h.worker({ concurrency: 1, pollingIntervalSeconds: 20 });
    await worker.start({ schedule: false });

    // Four jobs one after another: at one per interval the last would end a minute from now.
    const done = await eventually(async () => {
      const jobs = (await Promise.all(ids.map(jobsOf))).flat();
      return jobs.length === ids.length && jobs.every((j) => j.state === "completed") ? jobs : undefined;
    }, 15_000, "four refresh jobs within one polling interval");
    expect(done.map((j) => j.output?.outcome)).toEqual(["refreshed", "refreshed", "refreshed", "refreshed"]);
    await worker.stop();
  });

  it("queues each due connection once per scan page and says how many: a second scan while they wait queues none", async () => {
    const ids: string[] = [];
    for (const company of ["acme-s1", "acme-s2", "acme-s3"]) {
      ids.push(await h.connect(company, "xero"));
      await h.expireSoon(company, "xero", 60_000);
    }
    // No refresh slot: the jobs stay queued.
    const worker = h.worker({ concurrency: 0 });
    await worker.start({ schedule: false });
    const first = await worker.jobs.scan();
    expect(first.enqueued).toBeGreaterThanOrEqual(3);
    expect((await Promise.all(ids.map(jobsOf))).map((jobs) => jobs.map((j) => j.state))).toEqual([["created"], ["created"], ["created"]]);
    expect((await worker.jobs.scan()).enqueued).toBe(0);
    expect((await Promise.all(ids.map(jobsOf))).flat()).toHaveLength(3);
    await worker.stop();
  });
});
