// The scopes one consent asks for: the provider's configured ones (what the service needs, e.g.
// offline_access) always, plus the extras an admin chose for this connection, each one the
// provider declares as optional (definitions.ts, OIDC_PROVIDERS `optionalScopes`).
import { TokenError } from "@tokenvault/vault";
import type { ProviderAdapter } from "../providers/types";
import { MAX_EXTRA_SCOPES, SCOPE_TOKEN_PATTERN } from "../validation";

/**
 * The requested set, configured scopes first, no duplicates. Refused (INVALID_INPUT) before
 * anything is stored: not a list of strings, more than MAX_EXTRA_SCOPES, a value that is not an
 * RFC 6749 scope token (not echoed), or a scope the provider does not declare as optional (named:
 * it is a valid token). A provider declaring none accepts no extras: its grant is exactly what
 * the deployment configured, so nothing broader can be asked for through the API.
 */
export function requestedScopesFor(adapter: Pick<ProviderAdapter, "displayName" | "scopes" | "optionalScopes">, extras: unknown): string[] {
  if (extras === undefined) return [...adapter.scopes];
  if (!Array.isArray(extras)) throw new TokenError("INVALID_INPUT", "scopes must be a list of scope names.");
  if (extras.length > MAX_EXTRA_SCOPES) throw new TokenError("INVALID_INPUT", `scopes may name at most ${MAX_EXTRA_SCOPES} extra scopes.`);
  extras.forEach((scope: unknown, index) => {
    if (typeof scope !== "string" || !SCOPE_TOKEN_PATTERN.test(scope)) {
      throw new TokenError("INVALID_INPUT", `scopes[${index}] is not a scope name (1-128 printable characters, no space, quote or backslash).`);
    }
  });
  const wanted = (extras as string[]).filter((scope) => !adapter.scopes.includes(scope));
  if (wanted.length === 0) return [...adapter.scopes];
  const optional = adapter.optionalScopes ?? [];
  if (optional.length === 0) throw new TokenError("INVALID_INPUT", `${adapter.displayName} declares no optional scopes: it connects with its configured scopes only.`);
  const unknown = wanted.find((scope) => !optional.includes(scope));
  if (unknown !== undefined) throw new TokenError("INVALID_INPUT", `"${unknown}" is not an optional scope of ${adapter.displayName}.`);
  return [...adapter.scopes, ...new Set(wanted)];
}
