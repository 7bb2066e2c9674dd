/**
 * When an access token should be treated as expired, from the provider's `expires_in`. Counted
 * from when the request was *sent*: the provider started the lifetime somewhere between sending
 * and receiving, so the time the answer took is not credited to the token. Less a skew allowance
 * no setting removes (TOKEN_REFRESH_MARGIN_SECONDS=0 included): providers stamp expiry in whole
 * seconds (a JWT's exp; one issued at 12:00:00.900 for 6 s dies at 12:00:06.000), their clock is
 * not ours, and the caller still has to use the token. One shared function: every path that
 * turns a token response into an expiry (code exchange, refresh, any OIDC client) calls it.
 */
export function accessTokenExpiresAt(sentAt: Date, expiresInSec: number): Date {
  const lifetimeMs = expiresInSec * 1000;
  return new Date(sentAt.getTime() + lifetimeMs - skewAllowanceMs(lifetimeMs));
}

/** expires_in and exp have whole-second resolution: up to this much of the lifetime may be gone already. */
const WHOLE_SECOND_MS = 1_000;
/** Clock skew and time to use the token: this share of the lifetime... */
const SKEW_SHARE = 0.1;
/** ...at most this much. */
const MAX_SKEW_MS = 5_000;

/** 1 s for whole-second rounding plus 10% of the lifetime (at most 5 s); never more than half the lifetime. */
export function skewAllowanceMs(lifetimeMs: number): number {
  return Math.min(WHOLE_SECOND_MS + Math.min(lifetimeMs * SKEW_SHARE, MAX_SKEW_MS), lifetimeMs / 2);
}
