/** How often the event loop's I/O poll is observed. */
const IO_TICK_MS = 5;

/**
 * When this process last read its sockets. A notification can sit unread in the listener's
 * socket while the event loop is held up (a long synchronous task, CPU starvation); after such
 * a stall, timers and other sockets' callbacks may run before it is read. So the cache serves
 * only while the loop's I/O poll ran within `maxGapMs`: a setImmediate callback runs right after
 * each poll, and a light interval keeps an idle loop turning.
 */
export class IoWatermark {
  private at = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private marking = false;
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
}
