import { randomBytes } from "node:crypto";
import { loadOrCreateDevSecret } from "./paths";
import { runtimeMode } from "./runtime-mode";

/**
 * A secret that is not set, in development or test on the embedded database only (a fresh
 * clone's convenience, never a server's): generated once into .data/<file>, said once when it is.
 * Anywhere else: undefined, and the caller refuses to start, naming `variable`.
 */
function developmentSecret(variable: string, file: string, what: string, generate: () => string): string | undefined {
  if (!runtimeMode().devSecrets) return undefined;
  return loadOrCreateDevSecret(file, generate, (path) =>
    console.warn(`${variable} is not set: generated a ${what} in ${path} (development or test on the embedded database only).`),
  );
}

/** The vault key (TOKEN_ENCRYPTION_KEY) of a fresh clone: 32 random bytes as hex, shared by the token service and the stores. */
export function developmentEncryptionKey(): string | undefined {
  return developmentSecret("TOKEN_ENCRYPTION_KEY", "dev-encryption-key", "development key", () => randomBytes(32).toString("hex"));
}

/** The session secret (SESSION_SECRET) of a fresh clone. */
export function developmentSessionSecret(): string | undefined {
  return developmentSecret("SESSION_SECRET", "dev-session-secret", "development session secret", () => randomBytes(32).toString("base64url"));
}
