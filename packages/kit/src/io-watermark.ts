/** How often the event loop's I/O poll is observed. */
const IO_TICK_MS = 5;

/**
 * When this process last read its sockets. A notification can sit unread in the listener's
 * socket while the event loop is held up (a long synchronous task, CPU starvation); after such
 * a stall, timers and other sockets' callbacks may run before it is read. So the cache serves
 * only while the loop's I/O poll ran within `maxGapMs`: a setImmediate callback runs right after
 * each poll, and a light interval keeps an idle loop turning. A reader that finds the mark too
 * old can wait for the next poll (`nextPoll`) instead of going to the database.
 */
export class IoWatermark {
  private at = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private marking = false;
  /** Callers of nextPoll since the last check phase: they share one wait. */
  private waiting: { promise: Promise<void>; resolve: () => void } | null = null;
  private readonly mark = () => {
    this.marking = false;
    this.at = performance.now();
  };

  constructor(private readonly maxGapMs: number) {}

  start(): void {
    this.at = performance.now();
    this.timer ??= setInterval(() => this.markAfterPoll(), IO_TICK_MS);
    this.timer.unref();
  }

  private markAfterPoll(): void {
    if (this.marking) return;
    this.marking = true;
    setImmediate(this.mark);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** False after a stall; then the next poll is marked as soon as it has run. */
  get recent(): boolean {
    if (performance.now() - this.at <= this.maxGapMs) return true;
    this.markAfterPoll();
    return false;
  }

  /**
   * Resolves once an I/O poll that began after this call has run, and marks it: whatever had
   * reached this process's sockets when the caller asked has been read. The first setImmediate
   * runs after the poll under way; one queued from it runs only in the next turn of the loop, so
   * after that turn's poll. Callers of one turn share the wait: under a saturated loop a burst of
   * readers costs one turn of latency and no database round trip.
   */
  nextPoll(): Promise<void> {
    if (this.waiting) return this.waiting.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    const batch = { promise, resolve };
    this.waiting = batch;
    setImmediate(() => {
      // Callers from here on came after this poll began: they wait for the next one.
      if (this.waiting === batch) this.waiting = null;
      setImmediate(() => {
        this.at = performance.now();
        batch.resolve();
      });
    });
    return promise;
  }
}
