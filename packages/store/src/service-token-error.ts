export const SERVICE_TOKEN_ERROR_CODES = ["CONFIGURATION", "INVALID_INPUT", "MINT_FAILED", "MINT_TIMEOUT", "WAIT_TIMEOUT"] as const;
export type ServiceTokenErrorCode = (typeof SERVICE_TOKEN_ERROR_CODES)[number];

export interface ServiceTokenErrorDetails {
  /** HTTP status of the token endpoint's answer, when there was one. */
  status?: number | null;
  /** OAuth `error` code from the answer's body (never the body itself). */
  oauthError?: string | null;
  /** How long the token endpoint asked us to wait (Retry-After); the cooldown honours it. */
  retryAfterMs?: number | null;
  /** While cooling down after a failed mint: when the next attempt may be made. */
  retryAt?: Date | null;
  cause?: unknown;
}

/**
 * Every failure of getting a service token. Messages name variables and codes, never a token or
 * a secret; `cause` keeps the underlying error for operators without repeating its message.
 */
export class ServiceTokenError extends Error {
  override readonly name = "ServiceTokenError";
  readonly status: number | null;
  readonly oauthError: string | null;
  readonly retryAfterMs: number | null;
  readonly retryAt: Date | null;

  constructor(
    readonly code: ServiceTokenErrorCode,
    readonly detail: string,
    details: ServiceTokenErrorDetails = {},
  ) {
    super(`service token ${code}: ${detail}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status ?? null;
    this.oauthError = details.oauthError ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
    this.retryAt = details.retryAt ?? null;
  }
}

export const SERVICE_TOKEN_MIN_CHARS = 16;
export const SERVICE_TOKEN_MAX_CHARS = 8192;

/**
 * What is wrong with a token value, in words that never quote it; null when it is sound: 16 (or
 * `minChars`) to 8192 visible ASCII characters (a bearer token goes into an HTTP header as it is).
 */
export function serviceTokenProblem(value: unknown, minChars = SERVICE_TOKEN_MIN_CHARS): string | null {
  if (typeof value !== "string") return "is not text";
  if (value === "") return "is empty";
  if (/\s/.test(value)) return "contains whitespace";
  if (!/^[\x21-\x7e]*$/.test(value)) return "contains a character that is not visible ASCII";
  if (value.length < minChars) return `is shorter than ${minChars} characters`;
  if (value.length > SERVICE_TOKEN_MAX_CHARS) return `is longer than ${SERVICE_TOKEN_MAX_CHARS} characters`;
  return null;
}

/** A pre-provisioned token, checked at start-up: the error names `variable`, never the value. */
export function requireServiceToken(variable: string, value: unknown): string {
  const problem = serviceTokenProblem(value);
  if (problem) throw new ServiceTokenError("CONFIGURATION", `${variable} ${problem}; it must be ${SERVICE_TOKEN_MIN_CHARS} to ${SERVICE_TOKEN_MAX_CHARS} visible ASCII characters`);
  return value as string;
}
