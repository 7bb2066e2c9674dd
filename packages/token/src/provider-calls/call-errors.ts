// The typed failures of tokenService.fetch. Each is a TokenError (one coded domain error, mapped
// once by the web app); the extra fields say what a caller needs to act: when to retry, which
// status the provider sent and what it said, bounded and with the access token cut out.
import { TokenError, type TokenErrorCode } from "@tokenvault/vault";

/** The most of a provider's error body an error carries (characters). */
export const MAX_PROVIDER_BODY = 2_048;

/** What the provider answered, as far as an error may repeat it. */
export interface ProviderAnswer {
  status: number;
  /** The body's text, at most MAX_PROVIDER_BODY characters, the access token replaced by "[redacted]". */
  body: string;
}

export class ProviderCallError extends TokenError {
  override readonly name = "ProviderCallError";

  constructor(
    code: Extract<TokenErrorCode, "RATE_LIMITED" | "PROVIDER_UNAVAILABLE" | "REAUTH_REQUIRED" | "PROVIDER_ERROR">,
    message: string,
    /** RATE_LIMITED: the earliest moment a retry can succeed. */
    readonly retryAt: Date | null = null,
    /** The provider's last answer, when there was one (not for a limit refused here or a network failure). */
    readonly answer: ProviderAnswer | null = null,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * A provider body made safe to carry: cut to the bound, and every occurrence of the token sent
 * removed (a provider may echo the Authorization header back in a diagnostic).
 */
export function boundedBody(text: string, secrets: readonly string[]): string {
  let safe = text;
  for (const secret of secrets) if (secret.length >= 8) safe = safe.split(secret).join("[redacted]");
  return safe.length > MAX_PROVIDER_BODY ? `${safe.slice(0, MAX_PROVIDER_BODY)}…` : safe;
}

export function rateLimited(displayName: string, retryAt: Date, why: string, answer: ProviderAnswer | null = null): ProviderCallError {
  return new ProviderCallError("RATE_LIMITED", `${displayName} rate limit (${why}): retry after ${retryAt.toISOString()}.`, retryAt, answer);
}

export function unavailable(displayName: string, answer: ProviderAnswer | null, cause?: unknown): ProviderCallError {
  const what = answer ? `answered ${answer.status}` : "did not answer";
  return new ProviderCallError("PROVIDER_UNAVAILABLE", `${displayName} ${what}. Try again shortly.`, null, answer, cause === undefined ? undefined : { cause });
}

export function reauthRequired(displayName: string, answer: ProviderAnswer): ProviderCallError {
  return new ProviderCallError("REAUTH_REQUIRED", `${displayName} refused a freshly refreshed token. Reconnect ${displayName}.`, null, answer);
}

export function providerError(displayName: string, answer: ProviderAnswer): ProviderCallError {
  return new ProviderCallError("PROVIDER_ERROR", `${displayName} answered ${answer.status}.`, null, answer);
}
