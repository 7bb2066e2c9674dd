// What tokenService.fetch may retry, and when: the rules as pure functions (unit-tested beside).

/** Methods a repeat cannot change the outcome of (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/** A 5xx or a lost connection may have been processed: only these are sent again. */
export function mayRepeat(method: string, idempotencyKey: string | undefined): boolean {
  return IDEMPOTENT.has(method.toUpperCase()) || !!idempotencyKey;
}

/** Xero says which limit a 429 hit (X-Rate-Limit-Problem). */
export type XeroLimitProblem = "minute" | "day" | "concurrent" | "appminute";
const PROBLEMS = new Set<string>(["minute", "day", "concurrent", "appminute"]);

export function limitProblem(headers: Headers): XeroLimitProblem | null {
  const value = headers.get("x-rate-limit-problem")?.trim().toLowerCase();
  return value && PROBLEMS.has(value) ? (value as XeroLimitProblem) : null;
}

/** Retry-After as a delay in ms (delta-seconds or an HTTP date); null when absent or unreadable. */
export function retryAfterMs(headers: Headers, nowMs: number): number | null {
  const value = headers.get("retry-after")?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/**
 * How long a 429 asks us to wait. Without Retry-After: a concurrency refusal clears as soon as a
 * call ends (a short pause); otherwise a minute, the shortest window a provider counts in.
 */
export function rateLimitDelayMs(headers: Headers, nowMs: number): number {
  const stated = retryAfterMs(headers, nowMs);
  if (stated !== null) return stated;
  return limitProblem(headers) === "concurrent" ? 1_000 : 60_000;
}

/**
 * Exponential backoff with "equal jitter": attempt 1 waits base/2 to base, then doubling, capped.
 * Half of each delay is fixed, so N attempts are known to span at least half their sum (an
 * outage shorter than that is ridden out), the other half random, so callers spread out.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const delay = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/**
 * The shortest and longest time the pauses between `maxAttempts` attempts add up to (backoffMs's
 * fixed half, and the whole). An outage shorter than `least` is always ridden out by an idempotent
 * call; `most` must fit the call's total time, or the last attempts are never made.
 */
export function retrySpanMs(maxAttempts: number, baseMs: number, maxMs: number): { least: number; most: number } {
  let most = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt++) most += Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return { least: most / 2, most };
}

/** Statuses that mean "the provider is not well right now", worth another attempt. */
export function isTransient(status: number): boolean {
  return status >= 500 && status <= 599;
}
