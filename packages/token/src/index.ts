import { getDatabase } from "@tokenvault/db";
import { keyRingFromEnv, providerSettingsFromEnv } from "./env";
import { providersFromSettings } from "./providers/from-settings";
import type { ProviderRegistry } from "./providers/registry";
import { TokenService } from "./token-service";
import { Vault } from "@tokenvault/vault";

export { TokenService, DEFAULT_OPTIONS, type TokenServiceDeps, type TokenServiceOptions, type StaticSecretKind, type ExpiringToken } from "./token-service";
export { systemClock, type Clock } from "./clock";
export { TokenError, DecryptionError, KeyConfigError, TOKEN_ERROR_CODES, type TokenErrorCode, type DecryptionFailureReason } from "@tokenvault/vault";
export { consoleLogger, silentLogger, type Logger } from "./logger";
export { ProviderRegistry, PROVIDER_ALIASES } from "./providers/registry";
export { providersFromSettings, SIMULATOR_CLIENTS } from "./providers/from-settings";
export { quickbooksAdapter, simulatorQuickbooksEndpoints } from "./providers/quickbooks";
export { xeroAdapter, simulatorXeroEndpoints } from "./providers/xero";
export { genericOidcAdapter, type GenericProviderConfig } from "./providers/generic-oidc";
export type { ProviderAdapter } from "./providers/types";
export type * from "./types";

let vault: Vault | undefined;
let providers: Promise<ProviderRegistry> | undefined;

/** The process's vault, built from the environment on first use; throws KeyConfigError when the key is unusable. */
export function defaultVault(): Vault {
  vault ??= new Vault(keyRingFromEnv());
  return vault;
}

const settings = () => providerSettingsFromEnv();

/** The wired default: the process-wide database, the vault and providers from the environment, the system clock. */
export const tokenService = new TokenService({
  prisma: async () => (await getDatabase()).prisma,
  vault: defaultVault,
  providers: () => (providers ??= providersFromSettings(settings())),
  options: () => {
    const { refreshMarginMs, appUrl } = settings();
    return { refreshMarginMs, redirectUriFor: (provider: string) => `${appUrl}/api/oauth/${provider}/callback` };
  },
});

/**
 * Validates every setting the token service reads (vault keys, provider credentials, URLs) and
 * throws a KeyConfigError naming the first bad variable. Call it at process start-up (the web
 * app does in instrumentation.ts) so a misconfiguration stops the process instead of a request.
 */
export function validateTokenEnvironment(): void {
  defaultVault();
  providerSettingsFromEnv();
}

// Token reads are audited in batches; write what is queued before the process ends.
process.once("beforeExit", () => void tokenService.close());
