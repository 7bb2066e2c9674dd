import { z } from "zod";
import { loadOrCreateDevSecret, loadRootEnvFile, runtimeMode } from "@tokenvault/db";
import { generateKeyMaterial, KeyConfigError, keyRingFromVariables, type KeyRing } from "@tokenvault/vault";

/** The only place this package reads process.env. Parsed once, on first use. */
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

const schema = z.object({
  TOKEN_ENCRYPTION_KEY: optionalText,
  TOKEN_ENCRYPTION_KEYS_PREVIOUS: optionalText,
  // Other names for the same key: the setup guide's, and the token-store design's.
  ENCRYPTION_KEY: optionalText,
  TOKEN_STORE_ENCRYPTION_KEY: optionalText,
});

let keyRing: KeyRing | undefined;

/**
 * The key ring the stores seal with: the vault's own key (TOKEN_ENCRYPTION_KEY, or its aliases
 * ENCRYPTION_KEY and TOKEN_STORE_ENCRYPTION_KEY). Never plaintext: without a key the stores
 * refuse to work, except in development or test on the embedded database, where the same
 * generated development key as the token service's is used.
 */
export function storeKeyRingFromEnv(): KeyRing {
  if (keyRing) return keyRing;
  loadRootEnvFile();
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) throw new KeyConfigError(String(parsed.error.issues[0]?.path[0] ?? "environment"), "is invalid.");
  const env = parsed.data;
  keyRing = keyRingFromVariables(
    {
      TOKEN_ENCRYPTION_KEY: env.TOKEN_ENCRYPTION_KEY,
      TOKEN_ENCRYPTION_KEYS_PREVIOUS: env.TOKEN_ENCRYPTION_KEYS_PREVIOUS,
      aliases: { TOKEN_STORE_ENCRYPTION_KEY: env.TOKEN_STORE_ENCRYPTION_KEY, ENCRYPTION_KEY: env.ENCRYPTION_KEY },
    },
    {
      fallback: () => (runtimeMode().devSecrets ? loadOrCreateDevSecret("dev-encryption-key", () => generateKeyMaterial().hex) : undefined),
      warn: (message) => console.warn(message),
    },
  );
  return keyRing;
}
