/** Injected wherever time matters, so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Live metadata first expiring first; ids break ties, so every backend lists in one order. */
export function byExpiry(a: { expiresAt: Date; id: string }, b: { expiresAt: Date; id: string }): number {
  return a.expiresAt.getTime() - b.expiresAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
