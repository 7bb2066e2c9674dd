import { TokenError, isSealable } from "@tokenvault/vault";

/** Bounds on what a provider may tell us: beyond them a Date would be invalid or a wait absurd. */
const MAX_LIFETIME_SEC = 10 * 365 * 24 * 3600;
const MAX_RETRY_AFTER_MS = 3600_000;

/** The standard token response (RFC 6749 §5.1) plus the provider extras we read. */
export interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
  /** Intuit: seconds left on the refresh token. */
  x_refresh_token_expires_in?: number;
  /** Intuit: seconds until the grant's absolute end (5-year cap), sent when asked for by header. */
  x_refresh_token_hard_expires_in?: number;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  auth: "client_secret_basic" | "client_secret_post";
}

/**
 * A provider call that failed. `kind` drives what the service does next:
 * invalid_grant ends the connection, transient failures are retried, the rest are reported.
 */
export class ProviderCallError extends Error {
  override readonly name = "ProviderCallError";
  constructor(
    readonly kind: "invalid_grant" | "invalid_client" | "rate_limited" | "server_error" | "timeout" | "network" | "rejected",
    readonly status: number | null,
    /** OAuth `error` code from the body, when there was one. Never the body itself. */
    readonly oauthError: string | null,
    readonly retryAfterMs: number | null,
    /** The provider's `error_description`, bounded and with anything token-like redacted (providerReason); null when none. */
    readonly description: string | null = null,
  ) {
    super(`provider call failed: ${kind}${status ? ` (HTTP ${status})` : ""}${oauthError ? ` ${oauthError}` : ""}`);
  }

  get transient(): boolean {
    return this.kind === "rate_limited" || this.kind === "server_error" || this.kind === "timeout" || this.kind === "network";
  }
}

/** Retry-After is either seconds or an HTTP date; capped at an hour. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Math.min(Number(value.trim()) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

/** A lifetime in seconds from a response field: positive and finite, capped; otherwise absent. */
function lifetimeSec(value: unknown): number | undefined {
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, MAX_LIFETIME_SEC) : undefined;
}

/** The ProviderCallError an unsuccessful token or revocation response stands for. */
export async function classify(response: Response): Promise<ProviderCallError> {
  let oauthError: string | null = null;
  let description: string | null = null;
  try {
    const body = (await response.json()) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === "string") oauthError = body.error.slice(0, 64);
    description = providerReason(body.error_description);
  } catch {
    // Not JSON: the status alone decides.
  }
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"), Date.now());
  if (response.status === 429) return new ProviderCallError("rate_limited", 429, oauthError, retryAfter);
  if (response.status >= 500) return new ProviderCallError("server_error", response.status, oauthError, retryAfter);
  if (oauthError === "invalid_grant") return new ProviderCallError("invalid_grant", response.status, oauthError, null, description);
  if (oauthError === "invalid_client" || response.status === 401) return new ProviderCallError("invalid_client", response.status, oauthError, null, description);
  return new ProviderCallError("rejected", response.status, oauthError, null, description);
}

/**
 * A provider's error_description as safe to show and store: printable, at most 200 characters,
 * and any long opaque run (which could be a token a provider echoed back) replaced by "[redacted]".
 */
export function providerReason(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const text = value
    .replace(/[^\x20-\x7E]/g, " ")
    .replace(/[A-Za-z0-9._~+/=-]{24,}/g, "[redacted]")
    .trim()
    .slice(0, 200);
  return text === "" ? null : text;
}

/** Runs fetch with a hard timeout and maps transport failures to ProviderCallError. */
export async function providerFetch(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") throw new ProviderCallError("timeout", null, null, null);
    throw new ProviderCallError("network", null, null, null);
  }
}

/**
 * One POST to a token endpoint (authorization_code or refresh_token grant). One attempt only:
 * retrying a refresh is the caller's decision, made knowing the lease and the grace window.
 */
export async function requestToken(
  tokenEndpoint: string,
  client: ClientCredentials,
  params: Record<string, string>,
  timeoutMs: number,
  extraHeaders: Record<string, string> = {},
): Promise<TokenResponse> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = {
    ...extraHeaders,
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  if (client.auth === "client_secret_basic") {
    // RFC 6749 §2.3.1: form-encode each part before Base64.
    const user = encodeURIComponent(client.clientId);
    const pass = encodeURIComponent(client.clientSecret);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  } else {
    body.set("client_id", client.clientId);
    body.set("client_secret", client.clientSecret);
  }
  const response = await providerFetch(tokenEndpoint, { method: "POST", headers, body }, timeoutMs);
  if (!response.ok) throw await classify(response);
  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch {
    throw new ProviderCallError("server_error", response.status, null, null);
  }
  return tokenResponseFrom(parsed, response.status);
}

/** A successful token response's body, checked and bounded as every caller stores it. */
export function tokenResponseFrom(parsed: unknown, status: number): TokenResponse {
  const token = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  // Checked before anything is stored: a value the vault would refuse must fail here, as the
  // provider's error, not later as the caller's bad input after the old token is spent.
  if (!isSealable(token.access_token)) throw new ProviderCallError("server_error", status, "malformed_access_token", null);
  if (token.refresh_token !== undefined && token.refresh_token !== "" && !isSealable(token.refresh_token)) {
    throw new ProviderCallError("server_error", status, "malformed_refresh_token", null);
  }
  return {
    access_token: token.access_token,
    token_type: typeof token.token_type === "string" ? token.token_type : undefined,
    expires_in: lifetimeSec(token.expires_in),
    refresh_token: typeof token.refresh_token === "string" && token.refresh_token !== "" ? token.refresh_token : undefined,
    scope: typeof token.scope === "string" ? token.scope.slice(0, 2000) : undefined,
    id_token: typeof token.id_token === "string" ? token.id_token : undefined,
    x_refresh_token_expires_in: lifetimeSec(token.x_refresh_token_expires_in),
    x_refresh_token_hard_expires_in: lifetimeSec(token.x_refresh_token_hard_expires_in),
  };
}

/** Token revocation: RFC 7009 form body, or Intuit's JSON body. */
export async function revokeToken(
  endpoint: string,
  client: ClientCredentials,
  token: string,
  style: "form" | "json",
  timeoutMs: number,
): Promise<void> {
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString("base64")}`;
  const init: RequestInit =
    style === "json"
      ? { method: "POST", headers: { authorization: basic, "content-type": "application/json", accept: "application/json" }, body: JSON.stringify({ token }) }
      : {
          method: "POST",
          headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token, token_type_hint: "refresh_token" }),
        };
  const response = await providerFetch(endpoint, init, timeoutMs);
  // RFC 7009 §2.2: an already invalid token is answered 200; 400 invalid_grant/invalid_token means it is gone too.
  if (!response.ok) {
    const error = await classify(response);
    if (error.kind === "invalid_grant" || error.oauthError === "invalid_token") return;
    throw error;
  }
}

/** The user-facing TokenError for a provider failure that ends a call. */
export function toTokenError(error: ProviderCallError, providerName: string): TokenError {
  switch (error.kind) {
    case "invalid_grant":
      return new TokenError("REAUTH_REQUIRED", `${providerName} no longer accepts this connection's authorization. Reconnect ${providerName}.`);
    case "invalid_client":
      return new TokenError("CONFIGURATION", `${providerName} rejected Tokenvault's client credentials. An administrator must check the app configuration.`);
    case "rate_limited":
      return new TokenError("RATE_LIMITED", `${providerName} is rate limiting requests. Try again shortly.`);
    case "rejected":
      return new TokenError("PROVIDER_UNAVAILABLE", `${providerName} refused the request${error.status ? ` (HTTP ${error.status})` : ""}.`);
    default:
      return new TokenError("PROVIDER_UNAVAILABLE", `${providerName} is not responding. Tokenvault will retry shortly.`);
  }
}
