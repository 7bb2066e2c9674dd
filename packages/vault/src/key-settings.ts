import { KeyConfigError } from "./errors";
import { decodeKeyMaterial, keyRingFromSettings, type KeyRing } from "./key-ring";

/** The key variables as an env module parsed them (empty strings already undefined). */
export interface KeyVariables {
  TOKEN_ENCRYPTION_KEY?: string | undefined;
  TOKEN_ENCRYPTION_KEYS_PREVIOUS?: string | undefined;
  /** Other names for TOKEN_ENCRYPTION_KEY (the design documents'), in order of preference. */
  aliases?: Readonly<Record<string, string | undefined>>;
}

/**
 * The key ring from the key variables: TOKEN_ENCRYPTION_KEY, else the first alias set (an
 * alias that differs from a set TOKEN_ENCRYPTION_KEY is reported to `warn`, by name only),
 * else `fallback()` (a development key), else KeyConfigError naming TOKEN_ENCRYPTION_KEY.
 * Pure: the caller's env module reads the environment.
 */
export function keyRingFromVariables(
  variables: KeyVariables,
  options: { fallback?: () => string | undefined; warn?: (message: string) => void } = {},
): KeyRing {
  const own = variables.TOKEN_ENCRYPTION_KEY;
  const aliases = Object.entries(variables.aliases ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined);
  let current = own;
  if (own !== undefined) {
    for (const [name, value] of aliases) {
      if (value !== own) options.warn?.(`Tokenvault: TOKEN_ENCRYPTION_KEY and ${name} are both set and differ; TOKEN_ENCRYPTION_KEY is used, ${name} is ignored.`);
    }
  } else if (aliases.length > 0) {
    const [name, value] = aliases[0]!;
    decodeKeyMaterial(name, value); // errors about the alias name the alias
    current = value;
  }
  current ??= options.fallback?.();
  if (current === undefined) {
    throw new KeyConfigError("TOKEN_ENCRYPTION_KEY", "is not set: the vault refuses to store or read secrets without it. Generate one with `pnpm token:generate-key`.");
  }
  return keyRingFromSettings({ current, previous: variables.TOKEN_ENCRYPTION_KEYS_PREVIOUS });
}
