// The provider calls that verify an imported record before it is stored: a cheap identity call
// with a live access token, else one refresh (the refresher's call and retry policy). Each
// answers what the store needs (a token response, the organisations reached, a name) and counts
// the HTTP requests it made; a refusal is a ProviderCallError, turned into the import's typed error.
import { TokenError } from "@tokenvault/vault";
import { withRetry } from "../oauth/retry";
import { refreshGrant } from "../oauth/token-calls";
import { parseRetryAfter, ProviderCallError, providerFetch, toTokenError, type TokenResponse } from "../oauth/token-client";
import type { TokenServiceOptions } from "../options";
import type { ProviderAdapter } from "../providers/types";
import type { ProviderTenant } from "../types";

export interface Verified {
  response: TokenResponse;
  /** When the request whose answer gave the access token was sent (its lifetime counts from then). */
  sentAt: Date;
  tenants: ProviderTenant[];
  /** The name the provider gave (QuickBooks CompanyInfo), when it gave one. */
  name: string | null;
  via: "identity call" | "refresh";
  /** The call that verified the record, for the audit row. */
  endpoint: string;
  method: string;
}

export interface VerifyInput {
  accessToken: string | null;
  /** Null: the access token is missing or not live; one refresh is made. */
  accessTokenExpiresAt: Date | null;
  refreshToken: string;
  externalId: string;
  scope: string | undefined;
}

/** Counts HTTP requests to the provider (retries included): the bench reports calls per record. */
export class CallCounter {
  count = 0;
  /**
   * A refresh was sent whose answer may have rotated the record's refresh token: it answered a
   * new one, or gave no definite answer (a timeout, a 5xx: the provider may have rotated it and
   * the answer been lost). Such a record is never imported again with the same refresh token by
   * a retry: where the provider refuses a spent one (or revokes the grant on its reuse), that
   * would burn the grant. A 4xx answer (429, invalid_grant) rotated nothing.
   */
  mayHaveRotated = false;
}

type Options = Pick<TokenServiceOptions, "retry" | "providerTimeoutMs" | "refreshBudgetMs">;

/**
 * Verifies a record at the provider. With a live access token: one identity call (Xero GET
 * /connections, QuickBooks CompanyInfo of the realm, a generic provider's check URL); a 401
 * there means the access token is dead, and the refresh below is tried instead. Without one:
 * one refresh, then the identity call with the new access token where the tokens are bound to
 * a tenant (Xero's organisations, QuickBooks' realm), so a record never names one its grant does not reach.
 */
export async function verifyAtProvider(adapter: ProviderAdapter, input: VerifyInput, options: Options, now: () => Date, calls: CallCounter): Promise<Verified> {
  if (input.accessToken !== null && input.accessTokenExpiresAt !== null) {
    const sentAt = now();
    try {
      const identity = await identityCall(adapter, input.accessToken, input.externalId, options, calls);
      const expiresIn = Math.max(1, Math.floor((input.accessTokenExpiresAt.getTime() - sentAt.getTime()) / 1000));
      const response: TokenResponse = { access_token: input.accessToken, refresh_token: input.refreshToken, expires_in: expiresIn, ...(input.scope ? { scope: input.scope } : {}) };
      return { response, sentAt, ...identity, via: "identity call" };
    } catch (error) {
      if (!(error instanceof ProviderCallError) || error.status !== 401) throw error;
      // The access token is not live after all: the refresh token decides.
    }
  }
  let sentAt = now();
  const response = await withRetry(options.retry, Date.now() + options.refreshBudgetMs, options.providerTimeoutMs, async () => {
    calls.count++;
    sentAt = now();
    try {
      const answer = await refreshGrant(adapter, input.refreshToken, options.providerTimeoutMs);
      calls.mayHaveRotated ||= answer.refresh_token !== undefined && answer.refresh_token !== input.refreshToken;
      return answer;
    } catch (error) {
      const definite = error instanceof ProviderCallError && error.status !== null && error.status >= 400 && error.status < 500;
      calls.mayHaveRotated ||= !definite;
      throw error;
    }
  });
  // A provider that does not rotate may answer without one: the presented value stays the grant's.
  const refreshed: TokenResponse = { ...response, refresh_token: response.refresh_token ?? input.refreshToken, scope: response.scope ?? input.scope };
  const bound = adapter.discoverTenants !== undefined || adapter.externalIdParam !== null;
  const identity = bound ? await identityCall(adapter, refreshed.access_token, input.externalId, options, calls) : { tenants: [], name: null, endpoint: adapter.endpoints.token, method: "POST" };
  return { response: refreshed, sentAt, tenants: identity.tenants, name: identity.name, via: "refresh", endpoint: adapter.endpoints.token, method: "POST" };
}

/** The identity call, retried like a refresh when the provider is briefly unavailable. */
async function identityCall(adapter: ProviderAdapter, accessToken: string, externalId: string, options: Options, calls: CallCounter): Promise<{ tenants: ProviderTenant[]; name: string | null; endpoint: string; method: string }> {
  return withRetry(options.retry, Date.now() + options.refreshBudgetMs, options.providerTimeoutMs, async () => {
    calls.count++;
    if (adapter.discoverTenants) {
      const tenants = await adapter.discoverTenants(accessToken, options.providerTimeoutMs);
      return { tenants, name: null, endpoint: `${adapter.endpoints.api}/connections`, method: "GET" };
    }
    const request = adapter.checkRequest({ accessToken, refreshToken: null, accessTokenExpiresAt: new Date(), refreshTokenExpiresAt: null, externalId });
    const response = await providerFetch(request.url, { headers: request.headers }, options.providerTimeoutMs);
    const endpoint = request.url.split("?")[0]!;
    if (!response.ok) {
      await response.body?.cancel();
      const kind = response.status === 429 ? "rate_limited" : response.status >= 500 ? "server_error" : "rejected";
      throw new ProviderCallError(kind, response.status, null, parseRetryAfter(response.headers.get("retry-after"), Date.now()));
    }
    const body = (await response.json().catch(() => null)) as { CompanyInfo?: { CompanyName?: unknown } } | null;
    const name = typeof body?.CompanyInfo?.CompanyName === "string" ? body.CompanyInfo.CompanyName.slice(0, 200) : null;
    return { tenants: [], name, endpoint, method: "GET" };
  });
}

/** The typed error a refusal is reported as, with the provider's reason (its OAuth error and description, or the HTTP status). */
export function refusalOf(adapter: ProviderAdapter, error: ProviderCallError, externalId: string): TokenError {
  const reason = [error.oauthError, error.description ? `(${error.description})` : null].filter((part) => part !== null).join(" ") || (error.status ? `HTTP ${error.status}` : error.kind);
  // retryAfterMs: a rate limit's Retry-After, which `pnpm token:import` waits out before importing the record again.
  const details = { providerError: error.oauthError, providerReason: error.description, status: error.status, retryAfterMs: error.retryAfterMs };
  if (error.kind === "invalid_grant") return new TokenError("REAUTH_REQUIRED", `${adapter.displayName} refused the refresh token: ${reason}.`, { details });
  if (error.kind === "rejected" && (error.status === 401 || error.status === 403)) {
    const what = externalId ? `${adapter.externalIdParam ?? "the tenant"} ${externalId}` : "its identity";
    return new TokenError("INVALID_INPUT", `${adapter.displayName} refused these tokens access to ${what}: ${reason}.`, { details });
  }
  const typed = toTokenError(error, adapter.displayName);
  return new TokenError(typed.code, `${typed.message} (${reason})`, { details });
}
