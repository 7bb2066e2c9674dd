// What a grant's token set says before anyone refreshes it: fresh or not (the margin rule
// shared with the worker), and the errors that tell a caller why no refresh is attempted.
import { TokenError } from "@tokenvault/vault";
import { secretOf, type GrantWithSecrets } from "../connections/connection";
import type { ProviderAdapter } from "../providers/types";

/**
 * True when the access token is valid for at least `marginMs` more. The margin is capped at
 * half the token's lifetime: with a margin as long as the lifetime (a 5-minute token and the
 * 5-minute default), a token would be stale the moment it was issued and every call would refresh.
 */
export function isFresh(grant: GrantWithSecrets, marginMs: number, now: Date): boolean {
  const access = secretOf(grant, "ACCESS_TOKEN");
  if (!access || access.state !== "VALID" || !access.expiresAt) return false;
  return access.expiresAt.getTime() - refreshMarginFor({ expiresAt: access.expiresAt, lastRefreshedAt: access.lastRefreshedAt }, marginMs) > now.getTime();
}

/** The margin that applies to one access token: `marginMs`, capped at half its lifetime (see isFresh). */
export function refreshMarginFor(access: { expiresAt: Date; lastRefreshedAt: Date | null }, marginMs: number): number {
  const lifetimeMs = access.lastRefreshedAt ? access.expiresAt.getTime() - access.lastRefreshedAt.getTime() : Infinity;
  return Math.min(marginMs, lifetimeMs / 2);
}

export function needsReauthorization(grant: GrantWithSecrets): boolean {
  const refresh = secretOf(grant, "REFRESH_TOKEN");
  return !refresh || refresh.state !== "VALID";
}

/** PROVIDER_UNAVAILABLE raised by a cooldown, without a provider call (refreshConnection reports it as "cooldown"). */
export class CooldownError extends TokenError {}

/** During a cooldown: the provider failed a moment ago and is not asked again yet. */
export function providerUnavailable(adapter: ProviderAdapter): TokenError {
  return new CooldownError("PROVIDER_UNAVAILABLE", `${adapter.displayName} is not responding. Tokenvault will retry shortly.`);
}

export function reauthorizationRequired(adapter: ProviderAdapter): TokenError {
  return new TokenError("REAUTH_REQUIRED", `The ${adapter.displayName} grant has expired. Reconnect ${adapter.displayName}.`);
}
