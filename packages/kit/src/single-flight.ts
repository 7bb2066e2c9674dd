/**
 * In-process single flight: concurrent callers with the same key share one promise, so a process
 * runs at most one attempt per key at a time (a token refresh, a live check, a service-token mint).
 * The key is forgotten when the promise settles, so the next caller starts a new attempt.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inFlight.get(key);
    if (existing) return existing;
    const promise = fn().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  has(key: string): boolean {
    return this.inFlight.has(key);
  }

  get size(): number {
    return this.inFlight.size;
  }
}
