/**
 * Bounded concurrency per key (a provider, a tenant): a small counting semaphore per key, taken
 * in a fixed order so two jobs never wait on each other.
 */
export class KeyedLimiter {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  async run<T>(slots: { key: string; limit: number }[], fn: () => Promise<T>): Promise<T> {
    const ordered = [...slots].sort((a, b) => a.key.localeCompare(b.key));
    const taken: string[] = [];
    try {
      for (const slot of ordered) {
        await this.acquire(slot.key, slot.limit);
        taken.push(slot.key);
      }
      return await fn();
    } finally {
      for (const key of taken.reverse()) this.release(key);
    }
  }

  /** Jobs holding a slot of `key` now. */
  inFlight(key: string): number {
    return this.active.get(key) ?? 0;
  }

  private async acquire(key: string, limit: number): Promise<void> {
    if ((this.active.get(key) ?? 0) < limit) {
      this.active.set(key, (this.active.get(key) ?? 0) + 1);
      return;
    }
    // The releasing job hands its slot over: the count stays, the waiter proceeds.
    await new Promise<void>((resolve) => {
      const queue = this.waiting.get(key) ?? [];
      queue.push(resolve);
      this.waiting.set(key, queue);
    });
  }

  private release(key: string): void {
    const next = this.waiting.get(key)?.shift();
    if (next) return next();
    const count = (this.active.get(key) ?? 1) - 1;
    if (count === 0) this.active.delete(key);
    else this.active.set(key, count);
  }
}
