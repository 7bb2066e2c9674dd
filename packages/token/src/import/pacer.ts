// Paces one provider's imports with the provider call limits (provider-calls/limits): at most
// `concurrency` records in flight, and the provider calls they make within any minute kept under
// `perMinute`, counted in the limiter's store under `import:<provider>`. With a shared store
// (Redis or the database, as the CLI uses) every import process takes from one budget, so N
// processes together stay within it; with the memory store the pace is this process's alone.
// A record's calls are known only once it is done (0 when already present, up to 3), so each
// start reserves RESERVED calls of the budget; what it did not spend is handed back, and a call
// beyond the reservation is charged (waiting for the budget) before its slot goes to the next.
import { MINUTE_MS, type CallLimiter, type CallLimitSettings, type CallPermit } from "../provider-calls/limits/call-limiter";

export interface Pace {
  /** Records in flight at once (default: the provider's refresh concurrency). */
  concurrency: number;
  /** Provider calls in any 60 s (default: half the app-wide budget where the provider documents one). */
  perMinute: number;
}

/** What a record is assumed to cost until it says: a refresh and an identity call. */
const RESERVED = 2;
/** A budget this large is none (the bench lifts pacing); the stores count in 32-bit integers. */
const UNBOUNDED = 1_000_000_000;
/** The queue never refuses an import: a record waits for its turn however long (each line's report comes when it is done). */
const QUEUE = { maxQueue: 1_000_000, maxWaitMs: 7 * 24 * 3_600_000 } as const;
/**
 * How long a record's slot outlives a process that died holding it: a rerun after a crash waits
 * at most this for the slots the dead run held (a budget's entries leave with its window). A
 * record that runs longer (a slow provider, retried within the refresh budget) renews it.
 */
const RECORD_LEASE_MS = 10_000;
const RENEW_EVERY_MS = 3_000;

export class Pacer {
  private readonly records: CallLimitSettings;
  private readonly calls: CallLimitSettings | null;

  constructor(
    private readonly limiter: CallLimiter,
    private readonly providerId: string,
    readonly pace: Pace,
  ) {
    this.records = { tenantConcurrency: Math.max(1, pace.concurrency), tenantRates: [], appRates: [], ...QUEUE, leaseMs: RECORD_LEASE_MS };
    // One point a provider call; its slots are held only while a record runs.
    this.calls =
      pace.perMinute >= UNBOUNDED
        ? null
        : { tenantConcurrency: UNBOUNDED, tenantRates: [{ name: "minute", points: Math.max(pace.perMinute, RESERVED), windowMs: MINUTE_MS }], appRates: [], ...QUEUE, leaseMs: RECORD_LEASE_MS };
  }

  /** Runs `fn` in its turn; `fn` answers its result and how many provider calls it made. */
  async run<T>(fn: () => Promise<{ value: T; calls: number }>): Promise<T> {
    const slot = await this.take("records", this.records);
    // Unreachable meanwhile: the lease runs out and the slot is shared again, at worst.
    const renewing = setInterval(() => void slot.renew(RECORD_LEASE_MS).catch(() => undefined), RENEW_EVERY_MS);
    renewing.unref();
    let reserved: CallPermit[] = [];
    let made = RESERVED;
    try {
      reserved = await this.spend(RESERVED);
      const { value, calls } = await fn();
      made = calls;
      // Charged before the slot goes: the next record starts within the budget. The record is
      // done whatever happens here: a store that cannot be reached now costs pacing, not its report.
      if (calls > reserved.length) {
        await this.spend(calls - reserved.length).then(
          (extra) => Promise.all(extra.map((permit) => permit.release())),
          () => undefined,
        );
      }
      return value;
    } finally {
      // The first `made` reserved calls were spent (counted from now); the rest go back to the budget.
      clearInterval(renewing);
      await Promise.all(reserved.map((permit, i) => permit.release({ unused: i >= made })));
      await slot.release();
    }
  }

  private take(tenant: string, settings: CallLimitSettings): Promise<CallPermit> {
    return this.limiter.acquire({ provider: `import:${this.providerId}`, tenant }, settings, Number.POSITIVE_INFINITY);
  }

  private async spend(count: number): Promise<CallPermit[]> {
    const budget = this.calls;
    if (budget === null) return [];
    const taken = await Promise.allSettled(Array.from({ length: count }, () => this.take("calls", budget)));
    const permits = taken.flatMap((t) => (t.status === "fulfilled" ? [t.value] : []));
    const failed = taken.find((t) => t.status === "rejected");
    if (failed) {
      await Promise.all(permits.map((permit) => permit.release({ unused: true })));
      throw failed.reason;
    }
    return permits;
  }
}
