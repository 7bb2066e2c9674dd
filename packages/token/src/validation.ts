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
