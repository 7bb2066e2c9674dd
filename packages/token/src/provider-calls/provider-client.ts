// tokenService.fetch: one call to a provider's API with the connection's current token, paced by
// the shared limits and retried only where a retry cannot do harm. The rules, in order:
// - a 401 forces one refresh, coalesced through the fence (only while the stored token is still
//   the refused one), and the call is sent once more; a second 401 marks the connection for
//   reauthorization (REAUTH_REQUIRED with the provider's answer);
// - a 429 waits out Retry-After (and Xero's X-Rate-Limit-Problem) when that fits the call's time,
//   pausing the tenant's other callers meanwhile, else RATE_LIMITED with retryAt; a 429 was not
//   processed, so any method is sent again;
// - a 5xx or a lost connection is sent again (backoff) only for an idempotent method or with an
//   idempotency key, else PROVIDER_UNAVAILABLE: a POST may have been processed;
// - any other error status is PROVIDER_ERROR with its status and body (bounded, token cut out).
// Each attempt is bounded by attemptTimeoutMs, the whole call by totalTimeoutMs (AbortSignal).
// The token goes in the Authorization header only, and is never logged or put in an error.
import { TokenError } from "@tokenvault/vault";
import type { ProviderCallMetrics, CallOutcome } from "../metrics/provider-call-metrics";
import type { ProviderRegistry } from "../providers/registry";
import type { ProviderAdapter } from "../providers/types";
import { callTarget } from "./api-url";
import { CallObservation } from "./call-observer";
import { boundedBody, ProviderCallError, providerError, rateLimited, reauthRequired, unavailable, type ProviderAnswer } from "./call-errors";
import { connectionOfToken, type CallTokens, type ConnectionRef, type ResolvedConnection } from "./call-tokens";
import { limitSettingsOf, type CallLimiter, type CallLimitSettings, type CallPermit, type CallScope } from "./limits/call-limiter";
import { backoffMs, isTransient, limitProblem, mayRepeat, rateLimitDelayMs, retryAfterMs } from "./retry-policy";

export interface ProviderCallOptions {
  /** One attempt, from sending to the whole body read. */
  attemptTimeoutMs: number;
  /** The whole call: waits for a turn, retries and their pauses. */
  totalTimeoutMs: number;
  /** Attempts for a 5xx / network failure / 429, the first included (the 401 retry is on top). */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * Ten attempts 250 ms apart doubling to 4 s: the pauses add up to 11.9-23.8 s (retrySpanMs), so
 * an idempotent call rides out a provider outage of 10 s (issue 25), within the 30 s of a call.
 */
export const DEFAULT_CALL_OPTIONS: ProviderCallOptions = { attemptTimeoutMs: 10_000, totalTimeoutMs: 30_000, maxAttempts: 10, backoffBaseMs: 250, backoffMaxMs: 4_000 };

/** One tenant budget of a connection: `used` of `limit` calls in the last `windowMs` (every process). */
export interface CallBudget {
  /** "day", "minute" (the provider's window names). */
  name: string;
  windowMs: number;
  limit: number;
  used: number;
}

/** fetch's init, plus who calls (the audit rows of token reads) and an idempotency key. */
export interface ProviderFetchInit extends RequestInit {
  /** Recorded on the token read's audit row. Default "system". */
  userId?: string;
  /** Makes a POST/PATCH safe to send again: QuickBooks' requestid, Xero's Idempotency-Key. */
  idempotencyKey?: string;
  /** Overrides of the service's call options for this call. */
  timeoutMs?: number;
}

export interface ProviderClientDeps {
  tokens: CallTokens;
  providers: ProviderRegistry;
  /** Null: no pacing (one process, or a test of the retries alone). */
  limiter: CallLimiter | null;
  metrics: ProviderCallMetrics | null;
  options?: Partial<ProviderCallOptions>;
  /** Per provider id: overrides of its definition's limits. */
  limits?: Record<string, Partial<CallLimitSettings>>;
  fetch?: typeof fetch;
}

/** A pause the caller's signal cuts short; its listener goes with the pause (a long-lived signal must not collect them). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => (clearTimeout(timer), reject(signal!.reason as Error));
    const timer = setTimeout(() => (signal?.removeEventListener("abort", onAbort), resolve()), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

export class ProviderClient {
  private readonly options: ProviderCallOptions;
  private readonly send: typeof fetch;
  /** One reauthorization mark per connection at a time, however many callers meet the second 401. */
  private readonly marking = new Map<string, Promise<void>>();

  constructor(private readonly deps: ProviderClientDeps) {
    this.options = { ...DEFAULT_CALL_OPTIONS, ...deps.options };
    this.send = deps.fetch ?? fetch;
  }

  /** Refuses the calls still waiting for a turn (shutdown). */
  close(): Promise<void> {
    return this.deps.limiter?.close() ?? Promise.resolve();
  }

  settingsFor(adapter: ProviderAdapter): CallLimitSettings {
    return limitSettingsOf(adapter.limits ?? { concurrency: 5, tenantConcurrency: 5, requestsPerMinute: null, requestsPerDay: null }, this.deps.limits?.[adapter.id]);
  }

  /**
   * The connection's tenant budgets (Xero's day and minute, QuickBooks' minute) as the shared
   * limits count them now: the calls of every process in each window. Takes no turn, reads no token.
   */
  async budgets(ref: ConnectionRef): Promise<CallBudget[]> {
    const connection = await this.deps.tokens.resolve(ref);
    const adapter = this.deps.providers.get(connection.provider);
    const settings = this.settingsFor(adapter);
    const scope: CallScope = { provider: adapter.id, tenant: connection.externalId ?? connection.companyId };
    let used: Record<string, number> = {};
    try {
      if (this.deps.limiter) used = await this.deps.limiter.usage(scope, settings);
    } catch (error) {
      throw new TokenError("VAULT_UNAVAILABLE", "Tokenvault's shared call limits are not answering; the budgets cannot be read. Try again shortly.", { cause: error });
    }
    const budgets = settings.tenantRates.map((rate) => ({ name: rate.name, windowMs: rate.windowMs, limit: rate.points, used: Math.min(rate.points, used[rate.name] ?? 0) }));
    const day = budgets.find((b) => b.name === "day");
    if (day) this.deps.metrics?.budgetLeft(adapter.id, scope.tenant, (day.limit - day.used) / day.limit);
    return budgets;
  }

  async fetch(ref: ConnectionRef, pathOrUrl: string, init: ProviderFetchInit = {}): Promise<Response> {
    const { userId = "system", idempotencyKey, timeoutMs, signal, ...request } = init;
    const callerSignal = signal ?? undefined;
    const method = (request.method ?? "GET").toUpperCase();
    let token = await this.deps.tokens.getToken(ref, userId);
    const connection = connectionOfToken(token);
    const adapter = this.deps.providers.get(connection.provider);
    const target = callTarget(adapter, token.externalId, pathOrUrl, idempotencyKey);
    // A stream can be sent once only: such a call is never repeated.
    const repeatable = !(request.body instanceof ReadableStream);
    const deadline = Date.now() + (timeoutMs ?? this.options.totalTimeoutMs);
    const scope: CallScope = { provider: adapter.id, tenant: token.externalId ?? connection.companyId };
    const settings = this.settingsFor(adapter);
    const observation = new CallObservation(this.deps.metrics, adapter.id, method, target.url);
    let attempts = 0;
    let last: ProviderAnswer | null = null;
    let refreshed = false;
    let outcome: CallOutcome = "unavailable";
    try {
      for (let tries = 1; ; ) {
        const permit = await this.turn(scope, settings, deadline, callerSignal, observation);
        let response: Response;
        let body: ArrayBuffer;
        attempts += 1;
        try {
          const headers = new Headers(request.headers);
          for (const [name, value] of Object.entries(target.headers)) headers.set(name, value);
          headers.set("authorization", `Bearer ${token.accessToken}`);
          if (!headers.has("accept")) headers.set("accept", "application/json");
          const signal = this.attemptSignal(deadline, callerSignal);
          response = await this.send(target.url, { ...request, method, headers, signal, redirect: "manual" });
          body = await response.arrayBuffer();
        } catch (error) {
          if (callerSignal?.aborted) throw error;
          if (repeatable && mayRepeat(method, idempotencyKey) && tries < this.options.maxAttempts && this.pauseFits(++tries, deadline, callerSignal)) {
            observation.retry("network", null);
            await sleep(backoffMs(tries - 1, this.options.backoffBaseMs, this.options.backoffMaxMs), callerSignal);
            continue;
          }
          throw unavailable(adapter.displayName, null, error instanceof Error ? new Error(error.name) : undefined);
        } finally {
          // Off the answer's path: the slot frees a moment later (never sooner than the call ended).
          void permit?.release();
        }
        const answer = (): ProviderAnswer => ({ status: response.status, body: boundedBody(new TextDecoder().decode(body), [token.accessToken]) });
        if (response.status < 400) {
          outcome = "success";
          last = { status: response.status, body: "" };
          return new Response(response.status === 204 || response.status === 304 ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
        }
        last = answer();
        if (response.status === 401) {
          if (refreshed || !repeatable) {
            outcome = "reauth_required";
            await this.markForReauthorization(connection, adapter, last);
            throw reauthRequired(adapter.displayName, last);
          }
          refreshed = true;
          observation.retry("unauthorized", 401);
          token = await this.deps.tokens.forceRefresh(connection, userId, token.accessToken);
          continue;
        }
        if (response.status === 429) {
          const delay = rateLimitDelayMs(response.headers, Date.now());
          const problem = limitProblem(response.headers);
          const retryAt = new Date(Date.now() + delay);
          this.deps.limiter?.pause(scope, retryAt.getTime());
          if (problem !== "day" && repeatable && tries < this.options.maxAttempts && Date.now() + delay < deadline) {
            tries += 1;
            observation.retry("rate_limited", 429);
            await sleep(delay, callerSignal);
            continue;
          }
          outcome = "rate_limited";
          throw rateLimited(adapter.displayName, retryAt, problem ?? "provider", last);
        }
        if (isTransient(response.status) && repeatable && mayRepeat(method, idempotencyKey) && tries < this.options.maxAttempts) {
          const stated = retryAfterMs(response.headers, Date.now());
          const pause = Math.max(stated ?? 0, backoffMs(tries, this.options.backoffBaseMs, this.options.backoffMaxMs));
          if (Date.now() + pause < deadline) {
            tries += 1;
            observation.retry("server_error", response.status);
            await sleep(pause, callerSignal);
            continue;
          }
        }
        if (isTransient(response.status)) throw unavailable(adapter.displayName, last);
        outcome = "provider_error";
        throw providerError(adapter.displayName, last);
      }
    } catch (error) {
      if (error instanceof ProviderCallError) outcome = outcomeOf(error);
      else if (error instanceof TokenError) outcome = error.code === "INVALID_INPUT" ? "invalid" : error.code === "REAUTH_REQUIRED" ? "reauth_required" : "unavailable";
      throw error;
    } finally {
      observation.end(outcome, last?.status ?? null, attempts);
    }
  }

  /** The call's turn under the limits (none without a limiter). */
  private async turn(scope: CallScope, settings: CallLimitSettings, deadline: number, signal: AbortSignal | undefined, observation: CallObservation): Promise<CallPermit | null> {
    if (!this.deps.limiter) return null;
    let permit: CallPermit;
    try {
      permit = await this.deps.limiter.acquire(scope, settings, deadline, signal);
    } catch (error) {
      if (error instanceof TokenError || signal?.aborted) throw error;
      // The shared limits' store (Redis or the database) did not answer: no turn, so nothing is sent.
      throw new TokenError("VAULT_UNAVAILABLE", "Tokenvault's shared call limits are not answering; the call was not sent. Try again shortly.", { cause: error });
    }
    observation.waited(permit.waitedMs, permit.remaining, scope.tenant);
    return permit;
  }

  private attemptSignal(deadline: number, callerSignal: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(Math.max(1, Math.min(this.options.attemptTimeoutMs, deadline - Date.now())));
    return callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
  }

  /** Whether another attempt's backoff still fits the call's time. */
  private pauseFits(attempt: number, deadline: number, signal: AbortSignal | undefined): boolean {
    return !signal?.aborted && Date.now() + Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** (attempt - 2)) < deadline;
  }

  private markForReauthorization(connection: ResolvedConnection, adapter: ProviderAdapter, answer: ProviderAnswer): Promise<void> {
    const key = connection.connectionId;
    let running = this.marking.get(key);
    if (!running) {
      const reason = `${adapter.displayName} refused a refreshed token (${answer.status}): ${answer.body}`.slice(0, 500);
      // A failure to record it must not hide the answer: the caller still gets REAUTH_REQUIRED.
      running = this.deps.tokens
        .markForReauthorization(connection, reason)
        .catch(() => undefined)
        .finally(() => this.marking.delete(key));
      this.marking.set(key, running);
    }
    return running;
  }
}

function outcomeOf(error: ProviderCallError): CallOutcome {
  switch (error.code) {
    case "RATE_LIMITED":
      return error.answer ? "rate_limited" : "limited_here";
    case "REAUTH_REQUIRED":
      return "reauth_required";
    case "PROVIDER_ERROR":
      return "provider_error";
    default:
      return "unavailable";
  }
}
