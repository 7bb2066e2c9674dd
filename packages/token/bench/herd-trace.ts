// Where a herd cycle's time goes (the token bench's `--herd-trace`): each herd worker reports, on
// the wall clock shared by the processes (performance.timeOrigin + performance.now()), when its
// "go" arrived, when its own LISTEN connection heard the grant's NOTIFY, when its first and last
// callers held the token, and whether it made the refresh; the bench adds when it sent "go".

/** One process's view of one cycle (herd-worker.ts with HERD_TRACE=1). */
export interface HerdTrace {
  sentAt: number;
  goAt: number;
  /** The first notification of the grant this cycle (null: none heard before the last caller). */
  notifyAt: number | null;
  firstAt: number;
  lastAt: number;
  replyAt: number;
  /** This process refreshed (held the lease). */
  refreshed: boolean;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const f = (v: number) => `${v.toFixed(2).padStart(7)} ms`;

/** Prints the median of each step over the cycles: from "go" sent to the last caller of the last process. */
export function printHerdTraces(cycles: HerdTrace[][], totals: number[]): void {
  const steps: Record<string, number[]> = {
    '"go" sent → read by the last process (stdin)': [],
    '"go" read → NOTIFY heard, in the refreshing process (read, claim, provider call, write)': [],
    "NOTIFY heard → its first caller holds the token (refreshing process)": [],
    "NOTIFY heard (first process) → heard by the last process": [],
    "NOTIFY heard → last caller holds the token, waiting processes (median process)": [],
    "NOTIFY heard → last caller holds the token, waiting processes (slowest)": [],
    "first caller → last caller, in one process (median process)": [],
    "last caller of all → last reply read by the bench (stdout)": [],
  };
  const [sent, work, own, spread, wake, wakeMax, callers] = Object.values(steps);
  for (const cycle of cycles) {
    const holder = cycle.find((t) => t.refreshed);
    const notified = cycle.map((t) => t.notifyAt).filter((v): v is number => v !== null);
    sent!.push(Math.max(...cycle.map((t) => t.goAt)) - cycle[0]!.sentAt);
    if (holder?.notifyAt) {
      work!.push(holder.notifyAt - holder.goAt);
      own!.push(holder.firstAt - holder.notifyAt);
    }
    if (notified.length > 1) spread!.push(Math.max(...notified) - Math.min(...notified));
    const waiting = cycle.filter((t) => !t.refreshed && t.notifyAt !== null).map((t) => t.lastAt - t.notifyAt!);
    if (waiting.length > 0) {
      wake!.push(median(waiting));
      wakeMax!.push(Math.max(...waiting));
    }
    callers!.push(median(cycle.map((t) => t.lastAt - t.firstAt)));
  }
  console.log(`\nherd: where a cycle's time went (median over ${cycles.length} cycles; whole cycle median ${median(totals).toFixed(2)} ms)`);
  for (const [name, values] of Object.entries(steps)) if (values.length > 0) console.log(`  ${f(median(values))}  ${name}`);
  const refreshing = cycles.map((c) => c.filter((t) => t.refreshed).length);
  console.log(`  processes that refreshed per cycle: ${[...new Set(refreshing)].join(", ")}; a NOTIFY heard by every process in ${cycles.filter((c) => c.every((t) => t.notifyAt !== null)).length} of ${cycles.length} cycles`);
}
