// `pnpm worker` behind a TCP proxy that stands between it and PostgreSQL: the database goes
// silent (black hole), refuses, pauses, or goes silent and then resets, for OUTAGE_MS. Afterwards
// the worker schedules scans again, refreshes a connection made due, logs the loss and the return
// of the database, and SIGTERM ends it within the shutdown bound. One child worker per shape, each
// on its own database (pg-boss's cron state is per database), all at once to keep the file short.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TcpProxy } from "@tokenvault/db/testing";
import { afterAll, describe, expect, it } from "vitest";
import { QUEUES } from "../src/boss";
import { createHarness, eventually, type Harness } from "./harness";

const workerDir = fileURLToPath(new URL("..", import.meta.url));
const CONNECT_TIMEOUT_MS = 1_000;
const QUERY_TIMEOUT_MS = 2_000;
const OUTAGE_MS = 12_000;
/** The scan runs every minute ("* * * * *"); pg-boss looks at its schedules every few seconds and polls the scan queue every 2 s. */
const SCAN_INTERVAL_MS = 60_000;
const SCHEDULING_SLACK_MS = 15_000;
/** A stale connection's last call fails after the query timeout (+1 s client grace); a new one connects or fails within the connect timeout. */
const RECOVERY_BOUND_MS = CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 1_000 + SCAN_INTERVAL_MS + SCHEDULING_SLACK_MS;
/** closeOnShutdown's bound (packages/token/src/shutdown.ts), plus the process's own exit. */
const SHUTDOWN_BOUND_MS = 10_000 + 1_500;

type Shape = "blackhole" | "refused" | "paused" | "blackhole-then-reset";

/** Puts the proxy in the outage, waits it out, and puts it back; resolves at the moment the database is back. */
async function outage(proxy: TcpProxy, shape: Shape): Promise<number> {
  if (shape === "refused") proxy.down();
  else if (shape === "paused") proxy.setDelay(OUTAGE_MS);
  else proxy.setMode("blackhole");
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  // Connections accepted during a black hole stay open and silent after it, unless reset.
  if (shape === "blackhole-then-reset") proxy.cutAll();
  proxy.restore();
  return Date.now();
}

interface Child {
  process: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; at: number }>;
}

function startWorker(h: Harness, databaseUrl: string): Child {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: workerDir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      DATABASE_URL: databaseUrl,
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      TOKEN_ENCRYPTION_KEY: h.encryptionKeyHex,
      PROVIDER_SIMULATOR_URL: h.sim.url,
      WORKER_SCAN_CRON: "* * * * *",
      WORKER_JITTER_SECONDS: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on("exit", (code) => resolve({ code, at: Date.now() })));
  return { process: child, output: () => output, exited };
}

/** Scan jobs created after `since` (waiting, running, done). */
async function scansSince(h: Harness, since: number): Promise<number> {
  const rows = await h.sql<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT created_on FROM pgboss.job WHERE name = $1 UNION ALL SELECT created_on FROM pgboss.archive WHERE name = $1) s WHERE created_on > $2`,
    [QUEUES.scan, new Date(since)],
  );
  return Number(rows[0]!.n);
}

describe("the worker process when its database goes silent, refuses or pauses", () => {
  const harnesses: Harness[] = [];
  const children: Child[] = [];
  afterAll(async () => {
    for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
    for (const h of harnesses) await h.close();
  });

  const shapes: Shape[] = ["blackhole", "refused", "paused", "blackhole-then-reset"];
  it.concurrent.each(shapes)(
    "%s for 12 s: scans and refreshes resume within a connect timeout and a scan interval, the loss and return are logged, SIGTERM ends it in time",
    async (shape) => {
      const h = await createHarness(`silent_${shape.replaceAll("-", "_")}`);
      harnesses.push(h);
      const proxy = await TcpProxy.forUrl(h.databaseUrl);
      const companyId = `acme-${shape}`;
      const connectionId = await h.connect(companyId, "xero");
      const child = startWorker(h, proxy.urlFor(h.databaseUrl));
      children.push(child);
      try {
        await eventually(() => Promise.resolve(child.output().includes("worker started") ? true : child.process.exitCode !== null ? Promise.reject(new Error(child.output())) : undefined), 60_000, "the worker");
        // Wait until the worker holds open connections through the proxy (they are what go silent).
        await new Promise((resolve) => setTimeout(resolve, 3_000));

        const back = await outage(proxy, shape);
        await h.expireSoon(companyId, "xero");
        const before = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { grantId: (await h.grantOf(connectionId)).id, kind: "ACCESS_TOKEN" } });

        await eventually(async () => ((await scansSince(h, back)) > 0 ? true : undefined), RECOVERY_BOUND_MS, `a scan after the ${shape} (worker log: ${child.output().slice(-1500)})`);
        const scannedAfterMs = Date.now() - back;
        await eventually(async () => {
          const access = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { grantId: (await h.grantOf(connectionId)).id, kind: "ACCESS_TOKEN" } });
          return access.lastRefreshedAt!.getTime() > before.lastRefreshedAt!.getTime() ? true : undefined;
        }, 20_000, `the due connection refreshed after the ${shape}`);
        const refreshedAfterMs = Date.now() - back;
        console.log(`${shape}: first scan ${scannedAfterMs} ms, refresh ${refreshedAfterMs} ms after the database came back`);

        // The loss and the return, each logged once per outage through pino (JSON lines with msg).
        const lines = child.output().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as { msg?: string });
        expect(lines.filter((line) => line.msg === "database unreachable").length, child.output().slice(-2000)).toBe(1);
        expect(lines.filter((line) => line.msg === "database reachable again").length, child.output().slice(-2000)).toBe(1);

        const signalledAt = Date.now();
        child.process.kill("SIGTERM");
        const { code, at } = await Promise.race([child.exited, new Promise<{ code: null; at: number }>((resolve) => setTimeout(() => resolve({ code: null, at: Date.now() }), SHUTDOWN_BOUND_MS + 5_000))]);
        console.log(`${shape}: SIGTERM to exit ${at - signalledAt} ms`);
        expect(code, child.output().slice(-1500)).toBe(143);
        expect(at - signalledAt).toBeLessThan(SHUTDOWN_BOUND_MS);
        // Stopped by its own shutdown steps, not cut off by the bound's forced exit.
        expect(child.output()).toContain("worker stopped");
      } finally {
        await proxy.close();
      }
    },
    240_000,
  );

  it.concurrent.each(["during", "after"])("SIGTERM %s a black hole ends the worker within the shutdown bound", async (when) => {
    const h = await createHarness(`silent_sigterm_${when}`);
    harnesses.push(h);
    const proxy = await TcpProxy.forUrl(h.databaseUrl);
    const child = startWorker(h, proxy.urlFor(h.databaseUrl));
    children.push(child);
    try {
      await eventually(() => Promise.resolve(child.output().includes("worker started") ? true : child.process.exitCode !== null ? Promise.reject(new Error(child.output())) : undefined), 60_000, "the worker");
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      proxy.setMode("blackhole");
      await new Promise((resolve) => setTimeout(resolve, when === "during" ? 5_000 : OUTAGE_MS));
      if (when === "after") {
        proxy.restore();
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      }
      const signalledAt = Date.now();
      child.process.kill("SIGTERM");
      const { code, at } = await Promise.race([child.exited, new Promise<{ code: null; at: number }>((resolve) => setTimeout(() => resolve({ code: null, at: Date.now() }), SHUTDOWN_BOUND_MS + 5_000))]);
      console.log(`SIGTERM ${when} a black hole: exit after ${at - signalledAt} ms`);
      expect(code, child.output().slice(-1500)).toBe(143);
      expect(at - signalledAt).toBeLessThan(SHUTDOWN_BOUND_MS);
      expect(child.output()).toContain("worker stopped");
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
