// Two `pnpm token:import` processes at once, their pace kept in Redis (PROVIDER_CALL_LIMITS=redis):
// together they stay within one per-minute budget (5) and one concurrency (1), as the simulator
// counts the calls; each alone would have spent its own 5. Each record is a QuickBooks one with a live access token: one CompanyInfo call,
// slowed by a latency fault so that records in flight at once would overlap.
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { useImportCli } from "./import-cli-process";

const cli = useImportCli();
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const LATENCY_MS = 300;

/** One CLI process; `arrivals` holds when (test clock) each of its reports was read. */
function runCli(dir: string, file: string, prefix: string) {
  const child = cli.spawn(dir, [file, "--no-progress", "--concurrency", "quickbooks=1", "--per-minute", "quickbooks=5"], {
    REDIS_URL,
    PROVIDER_CALL_LIMITS: "redis",
    PROVIDER_CALL_LIMITS_PREFIX: prefix,
  });
  const arrivals: number[] = [];
  createInterface({ input: child.stdout! }).on("line", () => arrivals.push(Date.now()));
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return Object.assign(arrivals, { stderr: () => stderr });
}

describe("pnpm token:import in two processes", () => {
  it("shares one per-minute budget and one concurrency through the Redis limits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "token-import-pace-"));
    const company = `pace-${randomUUID().slice(0, 8)}`;
    const grants = await cli.h.sim.mintGrants({ provider: "intuit", count: 8 });
    const line = (g: (typeof grants)[number]) => JSON.stringify({ companyId: company, provider: "qbo", accessToken: g.accessToken, refreshToken: g.refreshToken, expiresAt: g.accessTokenExpiresAt, realmId: g.realmId });
    writeFileSync(join(dir, "a.jsonl"), grants.slice(0, 4).map(line).join("\n") + "\n");
    writeFileSync(join(dir, "b.jsonl"), grants.slice(4).map(line).join("\n") + "\n");
    await cli.h.sim.addFault({ kind: "latency", latencyMs: LATENCY_MS, provider: "intuit", endpoint: "api" });

    const prefix = `test-${randomUUID().slice(0, 8)}`;
    const runs = [runCli(dir, "a.jsonl", prefix), runCli(dir, "b.jsonl", prefix)];
    const total = () => runs.reduce((sum, arrivals) => sum + arrivals.length, 0);
    const deadline = Date.now() + 20_000;
    while (total() < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    // A record starts only with 2 calls of the minute free (it may need a refresh too): the
    // fourth one-call record leaves 1 of the 5, so nothing more may come within the minute, from either process.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const realms = new Set(grants.map((g) => g.realmId));
    const usage = await cli.h.sim.apiUsage({ provider: "intuit" });
    const served = usage.tenants.filter((t) => realms.has(t.tenantId)).reduce((sum, t) => sum + t.served, 0);
    expect(total(), runs.map((r) => r.stderr()).join("\n")).toBeGreaterThanOrEqual(4);
    expect(served).toBe(4);
    expect(total()).toBe(4);
    // One record at a time across both: each report comes at least one slowed call after the one before.
    const times = runs.flat().sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(LATENCY_MS - 100);
  });
});
