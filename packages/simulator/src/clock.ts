/**
 * The simulator's notion of "now". Every expiry (codes, access and refresh tokens,
 * grace windows) reads this clock, so tests can jump days ahead without waiting.
 */
export class SimClock {
  private offsetMs = 0;

  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  /** Moves time forward (or backward, with a negative value) and returns the new now. */
  advance(ms: number): number {
    this.offsetMs += ms;
    return this.now();
  }

  /** Jumps to an absolute epoch-millisecond time. */
  set(epochMs: number): number {
    this.offsetMs = epochMs - this.base();
    return this.now();
  }

  get offset(): number {
    return this.offsetMs;
  }

  reset(): void {
    this.offsetMs = 0;
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
