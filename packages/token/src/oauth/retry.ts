import type { RetryPolicy } from "../options";
import { ProviderCallError } from "./token-client";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retries transient provider failures (5xx, 429, timeouts, resets) with exponential backoff
 * and full jitter, honouring Retry-After, and never past `deadline` (the lease end): a retry
 * that could outlive the lease would let another process refresh concurrently.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  deadline: number,
  attemptTimeoutMs: number,
  fn: (attempt: number) => Promise<T>,
  onRetry?: (error: ProviderCallError, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!(error instanceof ProviderCallError) || !error.transient || attempt >= policy.attempts) throw error;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.max(error.retryAfterMs ?? 0, Math.random() * backoff);
      if (Date.now() + delay + attemptTimeoutMs > deadline) throw error;
      onRetry?.(error, delay);
      await sleep(delay);
    }
  }
}
