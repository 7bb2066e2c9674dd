import type OAuthClient from "intuit-oauth";
import type * as oidc from "openid-client";
import type { XeroClient } from "xero-node";
import type { ClientCredentials, TokenResponse } from "../oauth/token-client";
import { accessTokenExpiresAt } from "../oauth/token-expiry";
import type { ProviderTenant } from "../types";

/** What a code exchange needs beyond the code: the request it answers. */
export interface CodeExchange {
  code: string;
  state: string;
  redirectUri: string;
  codeVerifier: string | null;
  /** The nonce of the consent request: the id_token must carry it. Null: no id_token is expected. */
  nonce: string | null;
  /** Every parameter of the redirect (code, state, and iss where the provider sends it). */
  callbackParams: URLSearchParams;
}

/**
 * A provider's token endpoint calls, when a library makes them (generic providers: openid-client,
 * which also authenticates the client and verifies id_tokens). Each throws ProviderCallError
 * when the provider refused or failed; exchangeCode also IdTokenRejectedError.
 */
export interface TokenEndpointCalls {
  exchangeCode(input: CodeExchange, timeoutMs: number): Promise<TokenResponse>;
  refresh(refreshToken: string, timeoutMs: number): Promise<TokenResponse>;
  revoke(token: string, timeoutMs: number): Promise<void>;
}

export interface ProviderEndpoints {
  authorization: string;
  token: string;
  revocation: string | null;
  /** Base of the provider's API, used by live checks and the SDK clients. */
  api: string;
  /** The keys that sign the provider's id_tokens (QuickBooks: checked on every connect). */
  jwks?: string;
}

/** The claims of an id_token whose signature, issuer, audience and expiry were verified. */
export interface VerifiedIdToken {
  nonce: string | null;
  /** Intuit: the QuickBooks company the grant is for. */
  realmId: string | null;
}

/** A token set as the vault holds it, decrypted, for building SDK clients and checks. */
export interface ProviderTokenSet {
  accessToken: string;
  refreshToken: string | null;
  accessTokenExpiresAt: Date;
  refreshTokenExpiresAt: Date | null;
  externalId: string | null;
}

export interface CheckRequest {
  url: string;
  headers: Record<string, string>;
}

/**
 * Where tokenService.fetch sends a call: `endpoints.api` + `path` ({realmId} / {tenantId} filled
 * in from the connection), and the header naming the tenant, if the provider wants one.
 */
export interface ApiBase {
  /** Appended to endpoints.api, e.g. "/v3/company/{realmId}" (QuickBooks), "/api.xro/2.0" (Xero). */
  path: string;
  /** Header carrying the connection's tenant id (Xero: xero-tenant-id); absent: none. */
  tenantHeader?: string;
  /** How a caller's idempotency key reaches the provider (QuickBooks: the requestid query parameter; Xero: the Idempotency-Key header). */
  idempotency?: { query: string } | { header: string };
}

/** What the provider allows one app per tenant (Xero: per tenant; Intuit: per realm). */
export interface ProviderLimits {
  /** Refreshes in flight per provider in one worker process. */
  concurrency: number;
  /** Calls in flight per tenant / realm. */
  tenantConcurrency: number;
  /** Documented request budgets per tenant; null: none documented. */
  requestsPerMinute: number | null;
  requestsPerDay: number | null;
  /** The app's budget across all tenants per minute (Xero: 10,000); null or absent: none documented. */
  appRequestsPerMinute?: number | null;
}

export interface ProviderLifetimes {
  /** Access token lifetime when a token response has no expires_in. */
  accessTtlSec: number;
  /** A refresh token's life unused, when the response does not say; null: unknown (generic). */
  refreshIdleTtlSec: number | null;
  /** The grant's absolute end counted from consent; null: none. */
  refreshHardTtlSec: number | null;
  /** single-use: each refresh returns a new one; rolling: the value changes now and then; reused: it stays. */
  refreshRotation: "single-use" | "rolling" | "reused";
  /** Seconds the previous refresh token stays usable after a rotation (a lost response is retried with it). */
  refreshGraceSec: number;
}

/**
 * Everything provider-specific, declared as data plus a few small functions. The service
 * runs one flow for all providers; an adapter only says where and how.
 */
export interface ProviderAdapter {
  id: string;
  displayName: string;
  endpoints: ProviderEndpoints;
  client: ClientCredentials;
  /** Asked for on every consent. */
  scopes: string[];
  /** What one connect may ask for beyond `scopes` (connect/requested-scopes.ts); empty or absent: nothing. */
  optionalScopes?: string[];
  /** Send a PKCE S256 challenge with the authorization request. */
  pkce: boolean;
  revocationStyle: "form" | "json";
  /** Used when a token response has no expires_in. */
  defaultAccessTokenTtlSec: number;
  refreshToken: {
    /** Lifetime of a refresh token when the response does not say (Xero: 60 days unused). */
    idleTtlSec: number | null;
    /** Seconds the previous refresh token stays usable after a rotation (Xero 30 min). */
    graceSec: number;
  };
  /** Where tokenService.fetch sends calls (definitions.ts). Absent: endpoints.api itself, no tenant header. */
  apiBase?: ApiBase;
  /** Per-tenant limits (definitions.ts; a generic provider's from its settings). Absent: GENERIC_PROVIDER_DEFAULTS. */
  limits?: ProviderLimits;
  /** Extra headers on token endpoint requests (Intuit: ask for the refresh token's hard expiry). */
  tokenRequestHeaders?: Record<string, string>;
  /** Query parameter of the redirect carrying the external id (Intuit: realmId). */
  externalIdParam: string | null;
  /** Provider facts learned after the code exchange (Xero: the tenants of the authorization). */
  discoverTenants?: (accessToken: string, timeoutMs: number) => Promise<ProviderTenant[]>;
  /**
   * Xero: removes this authorization's connections to the given tenants (DELETE /connections/{id}).
   * A reconnect uses it instead of revoking the old token, which would also drop tenants the new
   * grant still serves.
   */
  disconnectTenants?: (accessToken: string, tenantIds: readonly string[], timeoutMs: number) => Promise<void>;
  /**
   * Set when the consent request asks for `openid` with a nonce bound to the state: the code
   * exchange must return an id_token, verified here (signature against the provider's keys,
   * issuer, audience, expiry) before its nonce is compared with the state's. Throws
   * ProviderCallError when the keys could not be fetched (unreachable, timed out, an error
   * status): the token was not checked, the provider was unavailable. Any other error: it did
   * not verify.
   */
  verifyIdToken?: (idToken: string, timeoutMs: number) => Promise<VerifiedIdToken>;
  /**
   * Token endpoint calls made by a library instead of the plain token client (generic providers:
   * openid-client, with their client authentication method and id_token checks).
   */
  tokenCalls?: TokenEndpointCalls;
  /** tokenCalls verify an id_token on the code exchange: the consent request carries a nonce for it. */
  expectsIdToken?: boolean;
  /** A cheap authenticated API call proving the connection works. */
  checkRequest(tokens: ProviderTokenSet): CheckRequest;
  /** A fresh SDK client holding this token set. Never cached: SDK instances keep token state. */
  createSdkClient(tokens: ProviderTokenSet, redirectUri: string): Promise<SdkClient>;
}

/**
 * A generic provider's client: openid-client 6's Configuration for it (call e.g.
 * fetchProtectedResource(configuration, tokenSet.access_token, url, "GET")) and the current token set.
 */
export interface GenericOAuthClient {
  kind: "openid-client";
  provider: string;
  configuration: oidc.Configuration;
  tokenSet: { access_token: string; refresh_token: string | undefined; token_type: "Bearer"; expires_at: number };
}

/** What getOAuthClient returns: the provider's own SDK client, holding the current token set. */
export type SdkClient = OAuthClient | XeroClient | GenericOAuthClient;

/** The grant's absolute end when the provider reported it (Intuit's x_refresh_token_hard_expires_in), else `fallback`. */
export function hardExpiresAtFrom(now: Date, response: TokenResponse, fallback: string | undefined): string | undefined {
  if (!response.x_refresh_token_hard_expires_in) return fallback;
  const reported = now.getTime() + response.x_refresh_token_hard_expires_in * 1000;
  // The same end, reported in seconds from now, moves by a few seconds per response: keep the stored one unless it really changed.
  if (fallback && Math.abs(Date.parse(fallback) - reported) < 3_600_000) return fallback;
  return new Date(reported).toISOString();
}

/** When the access token of a response expires (see accessTokenExpiresAt): `sentAt` is when its request was sent. */
export function expiresAtFrom(sentAt: Date, response: TokenResponse, defaultTtlSec: number): Date {
  return accessTokenExpiresAt(sentAt, response.expires_in ?? defaultTtlSec);
}

/**
 * When the refresh token of a response expires: what the provider said (Intuit's
 * x_refresh_token_expires_in), else the adapter's idle lifetime, else `fallback`.
 */
export function refreshExpiresAtFrom(now: Date, response: TokenResponse, adapter: Pick<ProviderAdapter, "refreshToken">, fallback: Date | null): Date | null {
  if (response.x_refresh_token_expires_in) return new Date(now.getTime() + response.x_refresh_token_expires_in * 1000);
  if (adapter.refreshToken.idleTtlSec) return new Date(now.getTime() + adapter.refreshToken.idleTtlSec * 1000);
  return fallback;
}
