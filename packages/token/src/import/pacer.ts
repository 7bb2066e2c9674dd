// Paces one provider's imports: at most `concurrency` records in flight, and the provider calls
// they make within any minute kept under `perMinute`. A record's calls are known only once it is
// done (0 when already present, up to 3), so each start reserves RESERVED calls until it
// reports its real count. In process: the import CLI is one process (see docs/importing.md).

export interface Pace {
  /** Records in flight at once (default: the provider's refresh concurrency). */
  concurrency: number;
  /** Provider calls in any 60 s (default: half the app-wide budget where the provider documents one). */
  perMinute: number;
}

/** What a record is assumed to cost until it says: a refresh and an identity call. */
const RESERVED = 2;
const WINDOW_MS = 60_000;

export class Pacer {
  private inFlight = 0;
  private reserved = 0;
  /** Calls made, by when their record finished, oldest first (within the last minute). */
  private readonly spent: { at: number; calls: number }[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly pace: Pace,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `fn` in its turn; `fn` answers its result and how many provider calls it made. */
  async run<T>(fn: () => Promise<{ value: T; calls: number }>): Promise<T> {
    await this.acquire();
    let calls = RESERVED;
    try {
      const { value, calls: made } = await fn();
      calls = made;
      return value;
    } finally {
      this.release(calls);
    }
  }

  private used(): number {
    const since = this.now() - WINDOW_MS;
    while (this.spent.length > 0 && this.spent[0]!.at <= since) this.spent.shift();
    return this.spent.reduce((sum, entry) => sum + entry.calls, 0) + this.reserved;
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const budget = Math.max(this.pace.perMinute, RESERVED);
      if (this.inFlight < this.pace.concurrency && this.used() + RESERVED <= budget) {
        this.inFlight++;
        this.reserved += RESERVED;
        return;
      }
      // Woken by a finishing record, or when the oldest calls leave the window.
      const oldest = this.spent[0];
      const untilFree = oldest ? Math.max(1, oldest.at + WINDOW_MS - this.now()) : null;
      await new Promise<void>((resolve) => {
        const timer = untilFree !== null && this.inFlight < this.pace.concurrency ? setTimeout(wake, untilFree) : null;
        function wake() {
          if (timer) clearTimeout(timer);
          resolve();
        }
        this.waiters.push(wake);
      });
    }
  }

  private release(calls: number): void {
    this.inFlight--;
    this.reserved -= RESERVED;
    if (calls > 0) this.spent.push({ at: this.now(), calls });
    // Every waiter re-checks: a finished record frees a slot, and maybe budget.
    for (const wake of this.waiters.splice(0)) wake();
  }
}
