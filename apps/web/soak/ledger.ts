// What each participant of `pnpm soak` keeps: its calls by outcome per phase (phase 0 before the
// first fault, phase n from fault n's start to fault n+1's), and when it first succeeded with a call
// started after fault n ended (its time to recover, also when that comes after fault n+1 started).
// The messages between soak.ts and its load processes.

export interface PhaseReport {
  outcomes: Record<string, number>;
  /** ms from the fault's end to the first success of a call started after it; null: none yet. */
  recoveredAfterMs: number | null;
}

export class PhaseLedger {
  private current = 0;
  private readonly phases = new Map<number, { outcomes: Record<string, number>; endedAt: number | null; recoveredAt: number | null }>([[0, { outcomes: {}, endedAt: null, recoveredAt: null }]]);

  /** Fault `index` started (endedAt null) or ended. */
  phase(index: number, endedAt: number | null): void {
    if (!this.phases.has(index)) this.phases.set(index, { outcomes: {}, endedAt: null, recoveredAt: null });
    this.current = Math.max(this.current, index);
    if (endedAt !== null) this.phases.get(index)!.endedAt = endedAt;
  }

  /** One call's outcome ("ok", a typed error's code, or "UNTYPED ..."), started at `startedAt`. */
  record(outcome: string, startedAt: number): void {
    const phase = this.phases.get(this.current)!;
    phase.outcomes[outcome] = (phase.outcomes[outcome] ?? 0) + 1;
    if (outcome !== "ok") return;
    for (const p of this.phases.values()) if (p.endedAt !== null && p.recoveredAt === null && startedAt >= p.endedAt) p.recoveredAt = Date.now();
  }

  report(): Record<number, PhaseReport> {
    const report: Record<number, PhaseReport> = {};
    for (const [index, phase] of this.phases) {
      report[index] = { outcomes: phase.outcomes, recoveredAfterMs: phase.endedAt !== null && phase.recoveredAt !== null ? phase.recoveredAt - phase.endedAt : null };
    }
    return report;
  }
}

export interface LoadConfig {
  databaseUrl: string;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  keyHex: string;
  simulatorUrl: string;
  companies: string[];
  userId: string;
  concurrency: number;
}

export type ToLoad = { type: "start"; config: LoadConfig } | { type: "phase"; index: number; endedAt: number | null } | { type: "stop" };

export type FromLoad =
  | { type: "ready" }
  | { type: "failed"; error: string }
  | { type: "done"; phases: Record<number, PhaseReport>; answered: number; unreachable: number; pendingBeforeClose: number; pendingAfterClose: number; unhandled: number };
