// `pnpm token:import FILE.jsonl` end to end: the CLI in its own process, wired from the
// environment to real PostgreSQL and the simulator over HTTP, reading records the simulator minted.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import type { LineReport } from "../src/import/bulk-import";
import { useImportCli } from "./import-cli-process";

const cli = useImportCli();

/** One CLI run; its reports arrive as they are printed. */
function runCli(dir: string, args: string[]) {
  const child = cli.spawn(dir, args);
  const reports: LineReport[] = [];
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    stdout += `${line}\n`;
    reports.push(JSON.parse(line) as LineReport);
  });
  // "close", not "exit": every line it printed has been read by then.
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, reports, exited, output: () => stdout + stderr };
}

const byLine = (reports: LineReport[]) => Object.fromEntries(reports.map((r) => [r.line, r]));

describe("pnpm token:import", () => {
  it("imports a mixed file, reporting each line by number, and never prints a token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "token-import-"));
    const company = `cli-${Date.now().toString(36)}`;
    const [xero] = await cli.h.sim.mintGrants({ provider: "xero", count: 1 });
    const [qbo, revoked] = await cli.h.sim.mintGrants({ provider: "intuit", count: 2, accessToken: false });
    const [orgs] = await cli.h.sim.mintGrants({ provider: "xero", count: 1, tenantsPerGrant: 2 });
    await cli.h.sim.revokeGrant(revoked!.grantId);
    const xeroLine = JSON.stringify({ companyId: company, provider: "xero", accessToken: xero!.accessToken, refreshToken: xero!.refreshToken, expiresAt: xero!.accessTokenExpiresAt });
    const lines = [
      xeroLine,
      JSON.stringify({ companyId: company, provider: "qbo", refreshToken: qbo!.refreshToken, realmId: qbo!.realmId }),
      JSON.stringify({ companyId: company, provider: "quickbooks", refreshToken: revoked!.refreshToken, realmId: revoked!.realmId }),
      `{"companyId": "${company}", "provider": "xero", "refreshToken": "${orgs!.refreshToken}"`, // cut short: not JSON, and holds a token
      JSON.stringify({ companyId: company, provider: "xero" }),
      xeroLine,
      "",
      JSON.stringify({ companyId: company, provider: "xero", refreshToken: orgs!.refreshToken, tenantIds: orgs!.tenants.map((t) => t.tenantId) }),
      JSON.stringify({ companyId: company, provider: "myob", refreshToken: "x" }),
    ];
    writeFileSync(join(dir, "mixed.jsonl"), lines.join("\n") + "\n");
    const tokens = [xero!.accessToken!, xero!.refreshToken, qbo!.refreshToken, revoked!.refreshToken, orgs!.refreshToken, orgs!.accessToken!];

    const run = runCli(dir, ["mixed.jsonl"]);
    expect(await run.exited).toBe(2); // a line was refused
    const reports = byLine(run.reports);
    expect(Object.keys(reports).map(Number).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 8, 9]);
    expect(reports[1]).toMatchObject({ outcome: "imported", provider: "xero", companyId: company, providerCalls: 1 });
    expect(reports[2]).toMatchObject({ outcome: "imported", provider: "quickbooks", providerCalls: 2, connections: [{ externalId: qbo!.realmId }] });
    expect(reports[3]).toMatchObject({ outcome: "refused", code: "REAUTH_REQUIRED", providerCalls: 1 });
    expect(reports[3]!.reason).toContain("invalid_grant (refresh token has been revoked)");
    expect(reports[4]).toMatchObject({ outcome: "refused", code: "INVALID_INPUT", reason: "The line is not valid JSON." });
    expect(reports[5]).toMatchObject({ outcome: "refused", code: "INVALID_INPUT" });
    expect(reports[5]!.reason).toContain("refreshToken is required");
    expect(reports[6]).toMatchObject({ outcome: "already present", providerCalls: 0, connections: reports[1]!.connections });
    expect(reports[8]).toMatchObject({ outcome: "imported", providerCalls: 2 });
    expect(reports[8]!.connections!.map((c) => c.externalId).sort()).toEqual(orgs!.tenants.map((t) => t.tenantId).sort());
    expect(reports[9]).toMatchObject({ outcome: "refused", code: "UNKNOWN_PROVIDER" });
    expect(run.output()).toContain("9 lines: 3 imported, 1 already present, 4 refused");
    for (const token of tokens) expect(run.output()).not.toContain(token);
    const audit = JSON.stringify(await cli.h.db.prisma.auditLog.findMany({ where: { companyId: company } }));
    for (const token of tokens) expect(audit).not.toContain(token);
    expect(await cli.h.db.prisma.connection.count({ where: { companyId: company } })).toBe(4);
    expect(existsSync(join(dir, "mixed.jsonl.progress"))).toBe(false); // done: a rerun reads the whole file

    // Again: the imported lines are already present, at no provider cost; the refused one is tried again.
    const calls = (await cli.h.sim.stats()).totals.tokenEndpointCalls;
    const again = runCli(dir, ["mixed.jsonl"]);
    expect(await again.exited).toBe(2);
    const second = byLine(again.reports);
    for (const line of [1, 2, 6, 8]) expect(second[line]).toMatchObject({ outcome: "already present", providerCalls: 0 });
    expect(second[3]).toMatchObject({ outcome: "refused", code: "REAUTH_REQUIRED" });
    expect((await cli.h.sim.stats()).totals.tokenEndpointCalls).toBe(calls + 1);
    expect((await cli.h.sim.getGrant(qbo!.grantId))!.counters.refreshSuccess).toBe(1);
    expect(await cli.h.db.prisma.connection.count({ where: { companyId: company } })).toBe(4);
  }, 180_000);

  it("resumes after being killed midway: every record ends imported once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "token-import-"));
    const company = `resume-${Date.now().toString(36)}`;
    const grants = await cli.h.sim.mintGrants({ provider: "intuit", count: 40, accessToken: false });
    writeFileSync(join(dir, "many.jsonl"), grants.map((g) => JSON.stringify({ companyId: company, provider: "quickbooks", refreshToken: g.refreshToken, realmId: g.realmId })).join("\n") + "\n");
    // Slow refreshes, few at once: the kill lands mid-file.
    await cli.h.sim.addFault({ kind: "latency", provider: "intuit", endpoint: "token", latencyMs: 150 });

    const first = runCli(dir, ["many.jsonl", "--concurrency", "quickbooks=3"]);
    await waitFor(() => first.reports.length >= 12, first.exited);
    first.child.kill("SIGKILL");
    await first.exited;
    const progress = JSON.parse(readFileSync(join(dir, "many.jsonl.progress"), "utf8")) as { through: number };
    expect(progress.through).toBeGreaterThan(0);
    expect(progress.through).toBeLessThan(40);
    const importedFirst = new Set(first.reports.filter((r) => r.outcome === "imported").map((r) => r.line));
    // Everything the progress file counts as done was reported done.
    for (let line = 1; line <= progress.through; line++) expect(importedFirst.has(line)).toBe(true);

    await cli.h.sim.clearFaults();
    const second = runCli(dir, ["many.jsonl", "--concurrency", "quickbooks=3"]);
    expect(await second.exited).toBe(0);
    // The rerun starts after the progress file's line; what the first run did beyond it is already present, for free.
    expect(Math.min(...second.reports.map((r) => r.line))).toBe(progress.through + 1);
    for (const report of second.reports) {
      if (importedFirst.has(report.line)) expect(report).toMatchObject({ outcome: "already present", providerCalls: 0 });
      // In flight at the kill: refreshed but not stored (imported now), or stored but not yet reported.
      else expect(["imported", "already present"]).toContain(report.outcome);
    }
    const covered = new Set([...importedFirst, ...second.reports.map((r) => r.line)]);
    expect(covered.size).toBe(40);
    expect(await cli.h.db.prisma.connection.count({ where: { companyId: company } })).toBe(40);
    expect(await cli.h.db.prisma.oAuthGrant.count({ where: { companyId: company } })).toBe(40);
    // A record imported before the kill was not refreshed again.
    for (const line of importedFirst) expect((await cli.h.sim.getGrant(grants[line - 1]!.grantId))!.counters.refreshSuccess).toBe(1);
    expect(existsSync(join(dir, "many.jsonl.progress"))).toBe(false);
  }, 180_000);
});

async function waitFor(condition: () => boolean, exited: Promise<unknown>): Promise<void> {
  let over = false;
  void exited.then(() => (over = true));
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (over) throw new Error("the CLI exited before the kill");
    if (Date.now() > deadline) throw new Error("the CLI did not get far enough");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
