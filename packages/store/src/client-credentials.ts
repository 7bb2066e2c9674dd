import { systemClock, type Clock } from "./clock";
import { ServiceTokenError, serviceTokenProblem } from "./service-token-error";

/** What a minter hands back: the token and when it expires (issuedAt defaults to when minting began). */
export interface MintedToken {
  token: string;
  expiresAt: Date;
  issuedAt?: Date;
}

/**
 * Gets a new service token. `signal` aborts when the mint has taken too long; a minter should
 * pass it on (to fetch) and throw a ServiceTokenError when it can say what went wrong.
 */
export type Minter = (request: { name: string; signal: AbortSignal }) => Promise<MintedToken>;

export interface ClientCredentialsConfig {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for. */
  scope?: string;
  /** The API the token is for, for servers that take an `audience` parameter (Auth0, Okta). */
  audience?: string;
  /** RFC 6749 §2.3.1: HTTP Basic (default) or the secret in the form body. */
  auth?: "client_secret_basic" | "client_secret_post";
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** Assumed when the answer has no `expires_in` (it is only RECOMMENDED). Default 300 s. */
  defaultExpiresInSec?: number;
  clock?: Clock;
}

const MAX_LIFETIME_SEC = 365 * 24 * 3600;
const MAX_RETRY_AFTER_MS = 3_600_000;

/** Retry-After as seconds or an HTTP date, capped at an hour. */
function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : null;
}

/** The OAuth error code of a refusal, kept only when it looks like one (it ends up in logs). */
async function oauthErrorOf(response: Response): Promise<string | null> {
  try {
    const body = (await response.json()) as { error?: unknown };
    return typeof body.error === "string" && /^[\x20-\x7e]{1,64}$/.test(body.error) ? body.error : null;
  } catch {
    return null;
  }
}

function requireConfig(field: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") throw new ServiceTokenError("CONFIGURATION", `clientCredentials.${field} is required`);
  return value;
}

/**
 * The default minter: one OAuth 2.0 client_credentials request (RFC 6749 §4.4) per mint, with a
 * timeout, honouring `expires_in`. Its own small fetch, not the token package's client: the store
 * must not depend on @tokenvault/token, and this grant needs a tenth of that client.
 */
export function clientCredentialsMinter(config: ClientCredentialsConfig): Minter {
  const endpoint = requireConfig("tokenEndpoint", config.tokenEndpoint);
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) throw new ServiceTokenError("CONFIGURATION", "clientCredentials.tokenEndpoint must be an http(s) URL");
  const clientId = requireConfig("clientId", config.clientId);
  const clientSecret = requireConfig("clientSecret", config.clientSecret);
  const timeoutMs = config.timeoutMs ?? 10_000;
  const defaultExpiresInSec = config.defaultExpiresInSec ?? 300;
  const clock = config.clock ?? systemClock;

  return async ({ signal }) => {
    const started = clock.now().getTime();
    const body = new URLSearchParams({ grant_type: "client_credentials" });
    if (config.scope) body.set("scope", config.scope);
    if (config.audience) body.set("audience", config.audience);
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    if (config.auth === "client_secret_post") {
      body.set("client_id", clientId);
      body.set("client_secret", clientSecret);
    } else {
      // RFC 6749 §2.3.1: form-encode each part before Base64.
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64")}`;
    }
    let response: Response;
    let parsed: unknown;
    try {
      response = await fetch(endpoint, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
      if (!response.ok) {
        const retryAfter = retryAfterMs(response.headers.get("retry-after"), Date.now());
        throw new ServiceTokenError("MINT_FAILED", `the token endpoint refused (HTTP ${response.status})`, { status: response.status, oauthError: await oauthErrorOf(response), retryAfterMs: retryAfter });
      }
      parsed = await response.json();
    } catch (error) {
      if (error instanceof ServiceTokenError) throw error;
      const name = error instanceof Error ? error.name : "";
      if (name === "TimeoutError" || name === "AbortError") throw new ServiceTokenError("MINT_TIMEOUT", "the token endpoint did not answer in time", { cause: error });
      if (name === "SyntaxError") throw new ServiceTokenError("MINT_FAILED", "the token endpoint's answer is not JSON", { cause: error });
      throw new ServiceTokenError("MINT_FAILED", "the token endpoint cannot be reached", { cause: error });
    }
    const fields = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const problem = serviceTokenProblem(fields.access_token, 1);
    if (problem) throw new ServiceTokenError("MINT_FAILED", `the token endpoint's access_token ${problem}`, { status: response.status });
    if (fields.token_type !== undefined && (typeof fields.token_type !== "string" || fields.token_type.toLowerCase() !== "bearer")) {
      throw new ServiceTokenError("MINT_FAILED", "the token endpoint issued a token that is not a bearer token", { status: response.status });
    }
    const expiresIn = Number(fields.expires_in);
    const seconds = fields.expires_in !== undefined && Number.isFinite(expiresIn) && expiresIn > 0 ? Math.min(expiresIn, MAX_LIFETIME_SEC) : defaultExpiresInSec;
    // Counted from when the request left: the token cannot outlive that by more than expires_in.
    return { token: fields.access_token as string, issuedAt: new Date(started), expiresAt: new Date(started + seconds * 1000) };
  };
}
