import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WORKER_USER } from "../src/jobs";
import { createHarness, eventually, type Harness, refreshJobsOf } from "./harness";

const workerDir = fileURLToPath(new URL("..", import.meta.url));
/** The child's lease: the token service's default (DEFAULT_OPTIONS.leaseMs). */
const CHILD_LEASE_MS = 5_000;

/**
 * `kill -9` of a worker process in the middle of a refresh: its lease on the connection lapses
 * (nobody extends it any more) and its pg-boss job, still "active", expires and runs again on
 * another worker, which refreshes the connection.
 */
describe("a worker killed mid-job", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness("killed");
  });
  afterAll(async () => h.close());

  const connectionRow = (id: string) => h.grantOf(id);
  const jobsOf = (connectionId: string) => refreshJobsOf(h, connectionId);

  it("leaves no lease beyond its expiry, and the job runs again on another worker", async () => {
    const companyId = "acme-killed";
    const connectionId = await h.connect(companyId, "xero");
    const grantId = await h.newestGrantId("xero");
    const accessBefore = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { grantId: (await h.grantOf(connectionId)).id, kind: "ACCESS_TOKEN" } });
    // The first refresh request hangs for 10 s and then fails: the kill lands while it is in flight,
    // and the provider rotates nothing for it.
    await h.sim.addFault({ kind: "latency", provider: "xero", grantId, latencyMs: 10_000, count: 1 });
    await h.sim.addFault({ kind: "error", provider: "xero", grantId, status: 503, count: 1 });

    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: workerDir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "test",
        DATABASE_URL: h.databaseUrl,
        TOKEN_ENCRYPTION_KEY: h.encryptionKeyHex,
        PROVIDER_SIMULATOR_URL: h.sim.url,
        WORKER_SCAN_CRON: "0 0 1 1 *",
        WORKER_JITTER_SECONDS: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    try {
      await eventually(() => Promise.resolve(output.includes("worker started") ? true : child.exitCode !== null ? Promise.reject(new Error(output)) : undefined), 30_000, "the child worker");

      // The job is sent as the worker sends it, expiring after 5 s; this process's pg-boss runs maintenance every second.
      const survivor = h.worker({ refreshJobExpireSeconds: 5, maintenanceIntervalSeconds: 1 });
      await survivor.boss.start();
      await survivor.jobs.enqueueRefresh({ connectionId, reason: "keep-alive" });

      // The child took the job: it holds the lease, and its provider call is in flight (the faults were taken).
      await eventually(async () => {
        const row = await connectionRow(connectionId);
        const faults = await h.sim.listFaults();
        return row.leaseOwner?.startsWith(`${child.pid}:`) && faults.length === 0 ? true : undefined;
      }, 30_000, "the child's refresh in flight");
      const killedAt = Date.now();
      child.kill("SIGKILL");
      expect(await exited).toBe("SIGKILL");

      // Its lease ends within one lease of the kill: the heartbeat died with the process.
      const left = await connectionRow(connectionId);
      expect(left.leaseOwner?.startsWith(`${child.pid}:`)).toBe(true);
      expect(left.leaseExpiresAt!.getTime()).toBeLessThanOrEqual(killedAt + CHILD_LEASE_MS + 500);
      expect((await jobsOf(connectionId)).map((j) => j.state)).toEqual(["active"]);

      // Another worker: pg-boss fails the dead job by timeout, retries it, and the retry refreshes.
      await survivor.start({ schedule: false });
      const done = await eventually(async () => {
        const jobs = await jobsOf(connectionId);
        return jobs.length === 1 && jobs[0]!.state === "completed" ? jobs[0] : undefined;
      }, 45_000, "the retried job");
      expect(done.retry_count).toBeGreaterThanOrEqual(1);
      expect(done.output?.outcome).toBe("refreshed");

      const after = await connectionRow(connectionId);
      expect([after.leaseOwner, after.leaseExpiresAt]).toEqual([null, null]);
      const access = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { grantId: (await h.grantOf(connectionId)).id, kind: "ACCESS_TOKEN" } });
      expect(access.lastRefreshedAt!.getTime()).toBeGreaterThan(accessBefore.lastRefreshedAt!.getTime());
      const refreshes = await h.db.prisma.auditLog.findMany({ where: { companyId, action: "REFRESH", outcome: "SUCCESS" } });
      expect(refreshes.map((r) => r.userId)).toEqual([WORKER_USER]);
      expect((await h.sim.getGrant(grantId))!.counters.refreshSuccess).toBe(1);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
