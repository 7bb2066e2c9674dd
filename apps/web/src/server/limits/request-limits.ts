import { createHmac } from "node:crypto";
import { TRPCError } from "@trpc/server";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { DEFAULT_API_CALLS_PER_MINUTE, DEFAULT_API_KEY_CHANGES_PER_MINUTE, type RequestLimitsConfig } from "~/settings";
import { createLimiter, LimitExceeded, takePoint, type LimiterBackend } from "./limiter-factory";

/**
 * The actions limited per user: live checks, connects, webhook and API key changes (each reaches a
 * provider or writes a state), and /api/v1 calls (per API key: its "user" is apikey:<id>).
 */
export type LimitedAction = "check" | "connect" | "webhook" | "apiKey" | "apiCall";

const LABEL: Record<LimitedAction, string> = { check: "connection checks", connect: "connection attempts", webhook: "webhook changes", apiKey: "API key changes", apiCall: "API calls with this key" };

/** Carries the wait to the response (Retry-After) and the error's data, without the original error. */
export class RetryAfterCause extends Error {
  override readonly name = "RetryAfterCause";
  constructor(readonly retryAfterSec: number) {
    super(`retry after ${retryAfterSec} s`);
    this.stack = undefined;
  }
}

/** Per-user limits of checks and connects, answered as TOO_MANY_REQUESTS (HTTP 429) with Retry-After. */
export class RequestLimits {
  constructor(
    private readonly limiters: Record<LimitedAction, RateLimiterAbstract>,
    /** Keys the counts: a keyed hash, so the backend never holds a company or user id in clear (as sign-in's). */
    private readonly keySecret: string,
  ) {}

  /** On the app's limiter backend (limiter-factory.ts) unless told another. */
  static async create(config: RequestLimitsConfig, keySecret: string, backend?: LimiterBackend): Promise<RequestLimits> {
    const [check, connect, webhook, apiKey, apiCall] = await Promise.all([
      createLimiter({ name: "check", points: config.checksPerMinute, durationSeconds: 60 }, backend),
      createLimiter({ name: "connect", points: config.connectsPerMinute, durationSeconds: 60 }, backend),
      createLimiter({ name: "webhook", points: config.webhookChangesPerMinute, durationSeconds: 60 }, backend),
      createLimiter({ name: "api-key", points: config.apiKeyChangesPerMinute ?? DEFAULT_API_KEY_CHANGES_PER_MINUTE, durationSeconds: 60 }, backend),
      createLimiter({ name: "api-call", points: config.apiCallsPerMinute ?? DEFAULT_API_CALLS_PER_MINUTE, durationSeconds: 60 }, backend),
    ]);
    return new RequestLimits({ check, connect, webhook, apiKey, apiCall }, keySecret);
  }

  /** The user's key in every limit: an HMAC of company and user id. */
  key(caller: { companyId: string; userId: string }): string {
    return createHmac("sha256", this.keySecret).update(JSON.stringify(["request-limits", caller.companyId, caller.userId])).digest("base64url");
  }

  /** Takes one of the user's points for `action`, or throws TOO_MANY_REQUESTS saying when to retry. */
  async take(action: LimitedAction, caller: { companyId: string; userId: string }): Promise<void> {
    try {
      await takePoint(this.limiters[action], this.key(caller));
    } catch (error) {
      if (!(error instanceof LimitExceeded)) throw error;
      throw new TRPCError({
        code: "TOO_MANY_REQUESTS",
        message: `Too many ${LABEL[action]}. Try again in ${error.retryAfterSec} second${error.retryAfterSec === 1 ? "" : "s"}.`,
        cause: new RetryAfterCause(error.retryAfterSec),
      });
    }
  }
}

/** The longest wait among a response's errors, for its Retry-After header; null when none was limited. */
export function retryAfterOf(errors: readonly { cause?: unknown }[]): number | null {
  const waits = errors.map((e) => (e.cause instanceof RetryAfterCause ? e.cause.retryAfterSec : null)).filter((s): s is number => s !== null);
  return waits.length > 0 ? Math.max(...waits) : null;
}
