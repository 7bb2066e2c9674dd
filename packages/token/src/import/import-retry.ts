// Which refused records `pnpm token:import` imports again by itself, and when. Transient: the
// database or the call limits did not answer (VAULT_UNAVAILABLE), the provider rate limited
// (RATE_LIMITED, waiting out its Retry-After) or was down (PROVIDER_UNAVAILABLE from a 5xx, a
// timeout, a reset). Never: a refusal of the record itself (invalid_grant, bad input, a realm or
// organisation the grant does not reach, a 4xx), and never a record whose refresh may have
// rotated its refresh token (CallCounter.mayHaveRotated): the retry would present a spent token.
import { TokenError } from "@tokenvault/vault";
import type { RetryPolicy } from "../options";

/** Five attempts in all, waits growing from about a second to at most half a minute. */
export const IMPORT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/** The provider's Retry-After to honour (0: none) when `error` is worth another attempt; null when it is not. */
export function transientRefusal(error: unknown): { retryAfterMs: number } | null {
  if (!(error instanceof TokenError)) return null;
  const details = error.details ?? {};
  if (details.refreshMayHaveRotated === true) return null;
  const retryAfterMs = typeof details.retryAfterMs === "number" && details.retryAfterMs > 0 ? details.retryAfterMs : 0;
  switch (error.code) {
    case "VAULT_UNAVAILABLE":
    case "RATE_LIMITED":
      return { retryAfterMs };
    case "PROVIDER_UNAVAILABLE": {
      // A 4xx other than 429 is the provider refusing the request itself: the same again gets the same.
      const status = typeof details.status === "number" ? details.status : null;
      return status !== null && status >= 400 && status < 500 && status !== 429 ? null : { retryAfterMs };
    }
    default:
      return null;
  }
}

/** Why a refusal that would be transient was not retried, for its report; null otherwise. */
export function notRetriedWhy(error: unknown): string | null {
  if (!(error instanceof TokenError) || error.details?.refreshMayHaveRotated !== true) return null;
  if (transientRefusal(new TokenError(error.code, error.message, { details: { ...error.details, refreshMayHaveRotated: false } })) === null) return null;
  return "Not retried: its refresh may have rotated the refresh token (import it again within the provider's grace window, or with a live access token).";
}

/**
 * The wait before attempt `attempt + 1`: exponential backoff, half of it jittered (so records
 * refused together do not come back together, yet each waits a while), never shorter than the provider asked.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs: number, random: () => number = Math.random): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.max(retryAfterMs, Math.round(backoff / 2 + (random() * backoff) / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts (the run is stopping: no further attempt starts). */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
