/** "in 42 minutes", "3 days ago": relative to now, for people. */
export function relative(date: Date | null | undefined, now = Date.now()): string {
  if (!date) return "—";
  const diff = date.getTime() - now;
  const abs = Math.abs(diff);
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
  ];
  for (const [ms, unit] of units) {
    if (abs >= ms) {
      const n = Math.round(abs / ms);
      const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
      return diff >= 0 ? `in ${text}` : `${text} ago`;
    }
  }
  return diff >= 0 ? "in under a minute" : "just now";
}
