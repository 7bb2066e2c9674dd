import { TokenError } from "@tokenvault/vault";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** Ids that name tenants, users and providers: short, printable, no path or query characters. */
export function isName(value: unknown): value is string {
  return typeof value === "string" && NAME.test(value);
}

export function requireName(field: string, value: unknown): string {
  if (!isName(value)) {
    throw new TokenError("INVALID_INPUT", `${field} must be 1-128 letters, digits, '.', '_', ':', '@' or '-'.`);
  }
  return value;
}

/** RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ), bounded here to 128 characters. */
export const SCOPE_TOKEN_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/** How many scopes one connect may add to a provider's configured ones. */
export const MAX_EXTRA_SCOPES = 20;
