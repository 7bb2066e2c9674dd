import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createHarness, type Harness } from "./harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness(inject("databaseUrl"));
});
afterAll(() => h.close());
// A test that failed (or timed out) waiting for its process leaves none behind.
const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** A loopback port nothing listens on (taken, then released). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Starts the fixture process with the default service wired from `env`; resolves its first line and its exit. */
function startProcess(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "fixtures/default-service-process.ts"), ...args], {
    cwd: join(import.meta.dirname, ".."),
    env: { ...process.env, NODE_ENV: "test", DATABASE_URL: inject("databaseUrl"), PROVIDER_SIMULATOR_URL: h.sim.url, ...env },
  });
  started.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const firstLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    void exited.then(() => reject(new Error(`fixture exited without a line:\n${stderr}`)));
  });
  return { child, firstLine, exited };
}

describe("the default service, built on demand in a process that owns it", () => {
  it("writes a TOKEN_READ row queued just before SIGTERM", async () => {
    await h.connect(h.service(), "sigterm-co", "quickbooks");
    const run = startProcess(["read", "sigterm-co", "qbo", "reader-before-sigterm"], { TOKEN_ENCRYPTION_KEY: h.keyHex });
    expect(await run.firstLine).toEqual({ ok: true });
    // The read is queued (written in batches, a second apart): SIGTERM arrives before the batch.
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(143);
    const reads = await h.db.prisma.auditLog.findMany({ where: { companyId: "sigterm-co", action: "TOKEN_READ", userId: "reader-before-sigterm" } });
    expect(reads).toHaveLength(1);
    expect(reads[0]?.connectionType).toBe("quickbooks");
  }, 60_000);

  it("fails closed without a key: nothing stored, the variable named", async () => {
    const run = startProcess(["store-secret", "keyless-co", "stripe"], { TOKEN_ENCRYPTION_KEY: "", ENCRYPTION_KEY: "" });
    const outcome = await run.firstLine;
    expect(outcome).toMatchObject({ ok: false, code: "CONFIGURATION" });
    expect(outcome.message).toContain("TOKEN_ENCRYPTION_KEY");
    await run.exited;
    expect(await h.db.prisma.tokenSecret.count({ where: { companyId: "keyless-co" } })).toBe(0);
  }, 60_000);
});

describe("the default service's provider call limits, from the environment", () => {
  it("with REDIS_URL set keeps them in Redis under PROVIDER_CALL_LIMITS_PREFIX, lowered by PROVIDER_LIMITS", async () => {
    const [tenant] = await h.pinOrganisations(1);
    await h.connect(h.service(), "redis-limits-co", "xero");
    const prefix = `test-${randomUUID()}`;
    const run = startProcess(["fetch", "redis-limits-co", "xero", "Organisation", "3"], {
      TOKEN_ENCRYPTION_KEY: h.keyHex,
      REDIS_URL: "redis://127.0.0.1:6379",
      PROVIDER_CALL_LIMITS_PREFIX: prefix,
      PROVIDER_LIMITS: JSON.stringify({ xero: { requestsPerMinute: 2 } }),
    });
    // Two calls a minute: the third cannot have its turn within the 30 s a call may wait, so it is refused at once.
    expect(await run.firstLine).toEqual({ ok: true, outcomes: [200, 200, "RATE_LIMITED"] });
    // tokenService.close() closed the Redis client: nothing keeps the process up (its idle database pool ends within ~10 s).
    expect(await run.exited).toBe(0);
    const redis = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
    try {
      const base = `${prefix}:calls:{xero}:t:${tenant}`;
      expect(await redis.zCard(`${base}:rate:minute`)).toBe(2);
      expect(await redis.zCard(`${base}:rate:day`)).toBe(2);
      expect(await redis.zCard(`${base}:holders`)).toBe(0); // released
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(keys);
      await redis.close();
    }
  }, 60_000);

  it("with Redis unreachable at start-up still builds the service: tokens are read, a provider call is refused as VAULT_UNAVAILABLE, unsent", async () => {
    await h.connect(h.service(), "redis-down-co", "quickbooks");
    const closed = await freeLoopbackPort(); // nothing listens there
    const served = async () => (await h.sim.apiUsage()).apps.reduce((n, app) => n + app.served, 0);
    const before = await served();
    const run = startProcess(["fetch", "redis-down-co", "quickbooks", "companyinfo/1", "1"], { TOKEN_ENCRYPTION_KEY: h.keyHex, REDIS_URL: `redis://127.0.0.1:${closed}` });
    expect(await run.firstLine).toEqual({ ok: true, outcomes: ["VAULT_UNAVAILABLE"] });
    expect(await served()).toBe(before);
    // Closing the service closes the reconnecting client too, and writes the queued audit rows.
    expect(await run.exited).toBe(0);
    const reads = await h.db.prisma.auditLog.count({ where: { companyId: "redis-down-co", action: "TOKEN_READ", outcome: "SUCCESS" } });
    expect(reads).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
