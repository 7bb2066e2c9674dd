import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createTestDatabase } from "@tokenvault/db/testing";

const workerDir = fileURLToPath(new URL("..", import.meta.url));

/** `pnpm worker` as deployed: its own process, configured by the environment, stopped by SIGTERM. */
describe("the worker process", () => {
  it("starts on DATABASE_URL, schedules the scan, housekeeping and the revocation retry, and stops cleanly on SIGTERM", async () => {
    const database = await createTestDatabase("worker_process");
    const databaseUrl = database.url;
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: workerDir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "test",
        DATABASE_URL: databaseUrl,
        TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
        PROVIDER_SIMULATOR_URL: "http://127.0.0.1:9",
        WORKER_SCAN_CRON: "0 0 1 1 *",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (output.includes("worker started")) {
          clearInterval(timer);
          resolve();
        }
        if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`worker exited early: ${output}`));
        }
      }, 100);
    });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const schedules = await client.query<{ name: string; cron: string }>(`SELECT name, cron FROM pgboss.schedule ORDER BY name`);
      expect(schedules.rows).toEqual([
        { name: "tokenvault-housekeeping", cron: "17 * * * *" },
        { name: "tokenvault-revocations", cron: "*/5 * * * *" },
        { name: "tokenvault-scan", cron: "0 0 1 1 *" },
      ]);
    } finally {
      await client.end();
    }

    child.kill("SIGTERM");
    // The worker's own log is the message when it fails: it shows how far the shutdown got.
    expect(await exited, output).toBe(143);
    expect(output).toContain("worker stopped");
    expect(output).not.toMatch(/shutdown: a close step failed/);
    await database.drop();
  });
});
