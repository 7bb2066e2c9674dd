// `pnpm soak` for 60 s (one fault of each kind): the token-service load processes, the worker and
// the production web server through the silent database, the refused one, every connection
// terminated, a slow provider and a killed Redis. The soak prints its report; this asserts it.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FAULT_KINDS, RECOVERY_BOUND_MS } from "../soak/faults";
import type { SoakReport } from "../soak/report";

const webRoot = join(import.meta.dirname, "..");

describe("pnpm soak, 60 s", () => {
  it("keeps every promise through each fault: typed errors only, each participant back within the bound, one refresh per expiry, every queued audit row written, no unhandled rejection", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tokenvault-soak-"));
    const reportFile = join(dir, "report.json");
    try {
      const child = spawn(process.execPath, ["--import", "tsx", "--expose-gc", "soak/soak.ts", "--duration", "60", "--report", reportFile], { cwd: webRoot, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      console.log(output.slice(-6000));
      const report = JSON.parse(readFileSync(reportFile, "utf8")) as SoakReport;

      expect(report.faults.map((f) => f.kind)).toEqual([...FAULT_KINDS]);
      for (const [name, phases] of Object.entries(report.participants)) {
        const untyped = Object.values(phases).flatMap((phase) => Object.keys(phase.outcomes).filter((outcome) => outcome.includes("UNTYPED")));
        expect(untyped, name).toEqual([]);
        expect(Object.values(phases).reduce((sum, phase) => sum + (phase.outcomes.ok ?? 0), 0), `${name} succeeded`).toBeGreaterThan(0);
        for (const fault of report.faults) {
          const recovered = phases[fault.index]?.recoveredAfterMs;
          expect(recovered, `${name} after ${fault.kind}`).not.toBeNull();
          expect(recovered!, `${name} after ${fault.kind}`).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
        }
      }
      for (const r of report.refreshes) {
        expect(r.expiries, `${r.companyId} expired`).toBeGreaterThan(0);
        expect({ providerRefreshes: r.providerRefreshes, storedResults: r.storedResults }, `${r.companyId}/${r.provider}`).toEqual({ providerRefreshes: r.expiries, storedResults: r.expiries });
      }
      for (const a of report.audit) expect({ written: a.written, leftQueued: a.leftQueued }, a.userId).toEqual({ written: a.queued, leftQueued: 0 });
      expect(Object.values(report.unhandled).every((n) => n === 0), JSON.stringify(report.unhandled)).toBe(true);
      expect(report.worker.exitCode).toBe(143);
      expect(report.webAliveAtEnd).toBe(true);
      expect(report.broken).toEqual([]);
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
