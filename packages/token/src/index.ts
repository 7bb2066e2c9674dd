import { getDatabase } from "@tokenvault/db";
import { keyRingFromEnv } from "./env";
import { TokenService } from "./token-service";
import { Vault } from "./vault/vault";

export { TokenService, type TokenServiceDeps, type ConnectionHealthView, type StaticSecretKind } from "./token-service";
export { systemClock, type Clock } from "./clock";
export { TokenError, DecryptionError, KeyConfigError, TOKEN_ERROR_CODES, type TokenErrorCode, type DecryptionFailureReason } from "./errors";
export { consoleLogger, silentLogger, type Logger } from "./logger";

let vault: Vault | undefined;

/** The process's vault, built from the environment on first use; throws KeyConfigError when the key is unusable. */
export function defaultVault(): Vault {
  vault ??= new Vault(keyRingFromEnv());
  return vault;
}

/** The wired default: the process-wide database, the vault from the environment, the system clock. */
export const tokenService = new TokenService({
  prisma: async () => (await getDatabase()).prisma,
  vault: defaultVault,
});
