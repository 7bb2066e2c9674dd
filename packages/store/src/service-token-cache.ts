import type { ServiceTokenErrorCode } from "./service-token-error";

/** A service token as this process knows it (times in ms since the epoch). */
export interface CachedServiceToken {
  token: string;
  expiresAtMs: number;
  issuedAtMs: number;
}

/** After a failed mint: nobody mints this name again before `untilMs`. */
export interface MintCooldown {
  untilMs: number;
  code: Extract<ServiceTokenErrorCode, "MINT_FAILED" | "MINT_TIMEOUT">;
}

/**
 * The margin rule, in one place: a token is fresh while it expires after now + margin, the
 * margin capped at half its lifetime (so a token shorter-lived than twice the margin is still
 * used for half its life instead of being minted again on every call).
 */
export function isFresh(cached: CachedServiceToken | null | undefined, nowMs: number, marginMs: number): cached is CachedServiceToken {
  return !!cached && cached.expiresAtMs - Math.min(marginMs, (cached.expiresAtMs - cached.issuedAtMs) / 2) > nowMs;
}

/** Not expired yet: still served when no fresh one can be had (cooldown, store down, wait timed out). */
export function isUnexpired(cached: CachedServiceToken | null | undefined, nowMs: number): cached is CachedServiceToken {
  return !!cached && cached.expiresAtMs > nowMs;
}

/** The unexpired candidate that expires last, if any. */
export function longestUnexpired(nowMs: number, candidates: (CachedServiceToken | null | undefined)[]): CachedServiceToken | undefined {
  return candidates.filter((c): c is CachedServiceToken => isUnexpired(c, nowMs)).sort((a, b) => b.expiresAtMs - a.expiresAtMs)[0];
}
