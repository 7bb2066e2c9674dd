// Declared once, in @tokenvault/kit; re-exported so this package's modules import it as before.
export { systemClock, type Clock } from "@tokenvault/kit";

/** Live metadata first expiring first; ids break ties, so every backend lists in one order. */
export function byExpiry(a: { expiresAt: Date; id: string }, b: { expiresAt: Date; id: string }): number {
  return a.expiresAt.getTime() - b.expiresAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
