// What `pnpm soak` found, what it promises (judge), and how it prints it.
import { DATABASE_FAULTS, RECOVERY_BOUND_MS, type FaultKind, type Schedule } from "./faults";
import type { RefreshTally } from "./expirer";
import type { PhaseReport } from "./ledger";

export interface FaultRecord {
  index: number;
  kind: FaultKind;
  startedAt: number;
  endedAt: number;
}

export interface SoakReport {
  durationS: number;
  schedule: Schedule;
  loadAverage: { start: number[]; end: number[] };
  faults: FaultRecord[];
  /** Per participant (load-n, web list, web check), per phase (0: before the first fault). */
  participants: Record<string, Record<number, PhaseReport>>;
  worker: { lines: { msg?: string; time?: string | number; downMs?: number }[]; exitCode: number | null };
  refreshes: RefreshTally[];
  /**
   * Token reads per load process: queued (answered with a token or a TokenError, each queuing one
   * audit entry), written to the database, left queued at exit; and the reads refused
   * VAULT_UNAVAILABLE because the database was unreachable, which queue none.
   */
  audit: { userId: string; queued: number; written: number; leftQueued: number; unreachableNotQueued: number }[];
  /** Resident memory in MB. */
  memory: Record<string, { start: number; end: number }>;
  unhandled: Record<string, number>;
  webAliveAtEnd: boolean;
  broken: string[];
}

/** ms from the fault's end to the worker's "database reachable again" after it; null when it logged no loss during it. */
export function workerRecovery(report: SoakReport, fault: FaultRecord): number | null {
  if (!DATABASE_FAULTS.includes(fault.kind)) return null;
  const next = report.faults.find((f) => f.index === fault.index + 1)?.startedAt ?? Infinity;
  const at = (time: string | number | undefined) => (time === undefined ? NaN : new Date(time).getTime()); // pino: ISO time or epoch ms
  const back = report.worker.lines.find((line) => line.msg === "database reachable again" && at(line.time) >= fault.startedAt && at(line.time) < next);
  return back ? at(back.time) - fault.endedAt : null;
}

/** Every promise that did not hold, as sentences; empty when the soak passed. */
export function judge(report: SoakReport): string[] {
  const broken: string[] = [];
  for (const [name, phases] of Object.entries(report.participants)) {
    for (const [index, phase] of Object.entries(phases)) {
      for (const [outcome, n] of Object.entries(phase.outcomes)) if (outcome.includes("UNTYPED")) broken.push(`${name}, phase ${index}: ${n} x ${outcome}`);
    }
    for (const fault of report.faults) {
      const recovered = phases[fault.index]?.recoveredAfterMs ?? null;
      if (recovered === null || recovered > RECOVERY_BOUND_MS) broken.push(`${name}: not recovered within ${RECOVERY_BOUND_MS} ms of ${fault.kind} (fault ${fault.index}): ${recovered ?? "never"}`);
    }
  }
  for (const fault of report.faults) {
    const recovered = workerRecovery(report, fault);
    if (recovered !== null && recovered > RECOVERY_BOUND_MS) broken.push(`worker: database reachable again ${recovered} ms after ${fault.kind} (fault ${fault.index})`);
  }
  if (report.worker.exitCode !== 143) broken.push(`worker: exit code ${report.worker.exitCode} on SIGTERM (expected 143)`);
  if (!report.worker.lines.some((line) => line.msg === "worker stopped")) broken.push("worker: no 'worker stopped' (it did not stop by its own shutdown steps)");
  if (!report.webAliveAtEnd) broken.push("web: not answering at the end");
  for (const [name, n] of Object.entries(report.unhandled)) if (n > 0) broken.push(`${name}: ${n} unhandled rejections`);
  for (const r of report.refreshes) {
    if (r.providerRefreshes !== r.expiries) broken.push(`${r.companyId}/${r.provider}: ${r.providerRefreshes} provider refreshes for ${r.expiries} expiries`);
    if (r.storedResults !== r.providerRefreshes) broken.push(`${r.companyId}/${r.provider}: ${r.providerRefreshes} provider refreshes, ${r.storedResults} results stored`);
  }
  for (const a of report.audit) if (a.written !== a.queued || a.leftQueued > 0) broken.push(`${a.userId}: ${a.queued} token reads queued, ${a.written} written, ${a.leftQueued} left queued`);
  return broken;
}

const outcomes = (o: Record<string, number>) =>
  Object.entries(o)
    .sort()
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "no calls";

export function print(report: SoakReport): void {
  const la = (l: number[]) => l.map((n) => n.toFixed(1)).join(" ");
  console.info(`\nsoak: ${report.durationS} s, load average ${la(report.loadAverage.start)} at start, ${la(report.loadAverage.end)} at the end`);
  const phases = [{ index: 0, title: "before the first fault" }, ...report.faults.map((f) => ({ index: f.index, title: `fault ${f.index}: ${f.kind}, ${f.endedAt - f.startedAt} ms, and after it` }))];
  for (const { index, title } of phases) {
    console.info(`\n${title}`);
    for (const [name, byPhase] of Object.entries(report.participants)) {
      const phase = byPhase[index];
      const recovered = index === 0 ? "" : `; recovered after ${phase?.recoveredAfterMs ?? "never"} ms`;
      console.info(`  ${name}: ${outcomes(phase?.outcomes ?? {})}${recovered}`);
    }
    const fault = report.faults.find((f) => f.index === index);
    if (fault && DATABASE_FAULTS.includes(fault.kind)) console.info(`  worker: database reachable again ${workerRecovery(report, fault) ?? "(no loss logged)"} ms after the end`);
  }
  console.info("\nrefreshes per connection (exactly one per expiry: provider refreshes = expiries = stored results):");
  console.table(report.refreshes.map(({ timeline: _, ...counts }) => counts));
  for (const r of report.refreshes) if (r.timeline) console.info(`${r.companyId}/${r.provider}, the last refreshes:\n  ${r.timeline.join("\n  ")}`);
  console.info("token-read audit entries per load process (queued = calls answered):");
  console.table(report.audit);
  console.info("resident memory (MB, with child processes):");
  console.table(report.memory);
  console.info(`unhandled rejections: ${outcomes(report.unhandled)}; worker exit ${report.worker.exitCode}`);
  console.info(report.broken.length === 0 ? "\nsoak: every promise held" : `\nsoak: FAILED\n  ${report.broken.join("\n  ")}`);
}
