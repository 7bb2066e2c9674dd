// A job's end is written by pg-boss (complete or fail). That write can fail: the database goes
// away as the job ends, or stop() gave up waiting for the job and closed the pool. pg-boss 10 sent
// that write without awaiting it, so its failure was an unhandled rejection, which ends a Node
// process: one database blip at the wrong moment stopped the worker. Now the failure is logged
// and the job, never marked done, runs again once it expires (a refresh finds the token fresh).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TcpProxy } from "@tokenvault/db/testing";
import type { Logger } from "@tokenvault/token";
import { TokenvaultWorker } from "../src/worker";
import { createHarness, eventually, refreshJobsOf, TEST_CONFIG, type Harness } from "./harness";

describe("a job whose end cannot be written", () => {
  let h: Harness;
  const unhandled: unknown[] = [];
  const count = (reason: unknown) => void unhandled.push(reason);
  beforeAll(async () => {
    h = await createHarness("jobend");
    process.on("unhandledRejection", count);
  });
  afterAll(async () => {
    process.off("unhandledRejection", count);
    await h?.close();
  });
  afterEach(async () => h.sim.clearFaults());

  /** Logs kept for the test to read. */
  function recordingLogger(): Logger & { lines: string[] } {
    const lines: string[] = [];
    const keep = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    return { lines, info: keep("info"), warn: keep("warn"), error: keep("error") };
  }

  /** A connection due now whose refresh takes `latencyMs` at the provider, queued as one job. */
  async function slowDueConnection(company: string, latencyMs: number): Promise<string> {
    const connectionId = await h.connect(company, "xero");
    await h.expireSoon(company, "xero", 60_000);
    await h.sim.addFault({ kind: "latency", latencyMs, provider: "xero", endpoint: "token" });
    return connectionId;
  }

  const activeJob = (connectionId: string) =>
    eventually(async () => ((await refreshJobsOf(h, connectionId)).some((j) => j.state === "active") ? true : undefined), 15_000, "the refresh job running");

  it("keeps the process alive when the database goes away as a job ends", async () => {
    const connectionId = await slowDueConnection("acme-end-lost", 1_500);
    const proxy = await TcpProxy.forUrl(h.databaseUrl);
    const logger = recordingLogger();
    const worker = new TokenvaultWorker({
      target: { connectionString: proxy.urlFor(h.databaseUrl), pool: { connectTimeoutMs: 1_000, queryTimeoutMs: 1_000, max: 4 } },
      service: h.service,
      config: TEST_CONFIG,
      logger,
    });
    try {
      await worker.start({ schedule: false });
      await worker.jobs.enqueueRefresh({ connectionId, reason: "refresh-ahead" });
      await activeJob(connectionId);
      proxy.down(); // the job's refresh still reaches the provider and the database (the service's own pool)
      // The refresh itself happens: the token is renewed; then pg-boss's write of the job's end is refused.
      const grantId = (await h.grantOf(connectionId)).id;
      await eventually(async () => {
        const access = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { grantId, kind: "ACCESS_TOKEN" } });
        return access.expiresAt!.getTime() > Date.now() + 20 * 60_000 ? true : undefined;
      }, 10_000, "the renewed token");
      await eventually(() => Promise.resolve(logger.lines.some((l) => l.startsWith("error database unreachable")) ? true : undefined), 10_000, "the lost database logged");
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(unhandled).toEqual([]);
      expect((await refreshJobsOf(h, connectionId)).map((j) => j.state)).toEqual(["active"]);
    } finally {
      proxy.restore();
      await worker.stop();
      await proxy.close();
    }
    expect(unhandled).toEqual([]);
  });

  it("keeps the process alive when a job outlasts stop(): it ends after the pool was closed", async () => {
    const connectionId = await slowDueConnection("acme-end-late", 1_800);
    const worker = h.worker({ stopTimeoutMs: 1_000 }); // pg-boss's least
    await worker.start({ schedule: false });
    await worker.jobs.enqueueRefresh({ connectionId, reason: "refresh-ahead" });
    await activeJob(connectionId);
    const stopping = Date.now();
    await worker.stop();
    expect(Date.now() - stopping).toBeLessThan(1_700); // it did not wait for the job
    // The job ends (its refresh answered) after the pool closed, and pg-boss writes its end.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(unhandled).toEqual([]);
    // Stopped with the job unfinished, pg-boss marked it failed: it is retried.
    expect((await refreshJobsOf(h, connectionId)).map((j) => j.state)).toEqual(["retry"]);
  });
});
