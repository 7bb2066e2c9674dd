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

/**
 * A card's line for when a credential expires. A connection that has ended (revoked, refused)
 * never reads "in 40 minutes": the nominal expiry of a token the provider no longer honours
 * would tell the user it still works. A lapsed access token of a live connection is normal:
 * it is renewed on its next use.
 */
export function credentialExpiry(
  expiresAt: Date | null | undefined,
  { ended, endedText, renewable, now = Date.now() }: { ended: boolean; endedText: string; renewable: boolean; now?: number },
): string {
  if (ended) return endedText;
  if (!expiresAt) return "—";
  if (expiresAt.getTime() > now) return `expires ${relative(expiresAt, now)}`;
  return renewable ? `expired ${relative(expiresAt, now)}, renewed on next use` : `expired ${relative(expiresAt, now)}`;
}

export type Badge = { label: "Not connected" | "Expired" | "Unhealthy" | "Healthy"; tone: "ok" | "warn" | "bad" | "idle" };

/** The badge of a connection card. */
export function connectionBadge(
  connection: { connected: boolean; status: string; health: { status: string } | null; refreshTokenExpiresAt: Date | null },
  now = Date.now(),
): Badge {
  if (!connection.connected) return { label: "Not connected", tone: "idle" };
  // An authorization past its end is expired even before anything has tried to use it.
  const lapsed = connection.refreshTokenExpiresAt !== null && connection.refreshTokenExpiresAt.getTime() <= now;
  if (lapsed || connection.status === "EXPIRED" || connection.health?.status === "EXPIRED") return { label: "Expired", tone: "bad" };
  if (connection.status === "ERROR" || connection.health?.status === "UNHEALTHY") return { label: "Unhealthy", tone: "warn" };
  return { label: "Healthy", tone: "ok" };
}

/**
 * When the background worker refreshes a connection next. Past: the next scan (every minute)
 * takes it. None: an ended or exhausted connection waits for a person.
 */
export function nextRefresh(at: Date | null | undefined, ended: boolean, now = Date.now()): string {
  if (ended || !at) return "none: waits for a reconnect or a manual refresh";
  if (at.getTime() <= now) return "due now (next scan)";
  return relative(at, now);
}

const WINDOW_WORDS: Record<string, string> = { day: "daily", minute: "per-minute", appminute: "app per-minute" };
const count = new Intl.NumberFormat("en-US");

/** A budget reaching this share of its limit is shown as a warning. */
export const BUDGET_WARN_AT = 0.9;

/** "Xero daily calls: 4,800 / 5,000 used", and whether it is nearly spent. */
export function callBudgetLine(displayName: string, budget: { name: string; limit: number; used: number }): { text: string; nearlySpent: boolean } {
  return {
    text: `${displayName} ${WINDOW_WORDS[budget.name] ?? budget.name} calls: ${count.format(budget.used)} / ${count.format(budget.limit)} used`,
    nearlySpent: budget.used >= budget.limit * BUDGET_WARN_AT,
  };
}
