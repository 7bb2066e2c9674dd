import { dbEnv, getDatabase, runtimeMode } from "@tokenvault/db";
import { Vault } from "@tokenvault/vault";
import { keyRingFromEnv, oauthRedirectUri, providerCallLimitsFromEnv, providerSettingsFromEnv, refreshScheduleFromEnv, webhookMaxEndpointsFromEnv } from "./env";
import { defaultTokenMetrics } from "./metrics/token-metrics";
import type { Logger } from "./logger";
import { pinoLogger } from "./pino-logger";
import { connectLimitsRedis } from "./provider-calls/limits/redis-connection";
import { providersFromSettings } from "./providers/from-settings";
import { withLimitOverrides } from "./providers/limit-overrides";
import { TokenService } from "./token-service";

/**
 * The process's token service, wired from the environment on first use: the vault (a bad or
 * missing key throws KeyConfigError before anything opens), the providers (generic ones may
 * need discovery), the process-wide database. Kept on globalThis so Next.js dev-mode module
 * reloads reuse one service (and its audit queue) instead of leaking them.
 */
const globalForService = globalThis as unknown as { tokenvaultService?: Promise<TokenService> };

export function getTokenService(): Promise<TokenService> {
  globalForService.tokenvaultService ??= buildFromEnvironment({}).catch((error: unknown) => {
    // A failed build is not cached: the next call reports the problem again (or succeeds once fixed).
    globalForService.tokenvaultService = undefined;
    throw error;
  });
  return globalForService.tokenvaultService;
}

/**
 * A token service wired from the environment, as the default one is, but owned by the caller
 * (who closes it). `logger`: where its logs go instead of stdout (a CLI whose stdout is its output).
 */
export async function buildFromEnvironment(overrides: { logger?: Logger } = {}): Promise<TokenService> {
  const vault = new Vault(keyRingFromEnv());
  const settings = providerSettingsFromEnv();
  const callLimits = providerCallLimitsFromEnv();
  const [database, configured] = await Promise.all([getDatabase(), providersFromSettings(settings)]);
  const providers = withLimitOverrides(configured, callLimits.overrides);
  // The limits' Redis client is the slot store's: tokenService.close() closes it.
  const limits = callLimits.backend.kind === "redis" ? { kind: "redis" as const, client: await connectLimitsRedis(callLimits.backend.url), owned: true, prefix: callLimits.backend.prefix } : { kind: "database" as const };
  return new TokenService({
    prisma: database.prisma,
    vault,
    providers,
    providerCalls: { limits },
    logger: overrides.logger ?? pinoLogger(),
    metrics: defaultTokenMetrics(),
    // PostgreSQL: one LISTEN connection wakes waiters. The embedded database: waiters poll.
    listenDatabaseUrl: database.kind === "postgres" ? dbEnv().databaseUrl : undefined,
    options: {
      refreshMarginMs: settings.refreshMarginMs,
      checkCoalesceMs: settings.checkCoalesceMs,
      tokenCache: settings.tokenCache,
      redirectUriFor: (provider) => oauthRedirectUri(settings.appUrl, provider),
      refreshSchedule: refreshScheduleFromEnv(),
      // A webhook must not reach the internal network in production; a local receiver is fine in development.
      allowPrivateWebhookTargets: runtimeMode().development,
      maxWebhookEndpoints: webhookMaxEndpointsFromEnv(),
    },
  });
}

/** Writes what the built service still queues (audit rows). Safe to call whether or not it was built. */
export async function closeTokenService(): Promise<void> {
  const building = globalForService.tokenvaultService;
  if (!building) return;
  const service = await building.catch(() => undefined);
  await service?.close();
}

/** The asynchronous methods of TokenService: what the lazily built default offers. */
type AsyncMethodNames = {
  [K in keyof TokenService]: TokenService[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof TokenService];
export type TokenServiceApi = Pick<TokenService, AsyncMethodNames>;

/**
 * `tokenService.getValidToken(companyId, "qbo", userId)`, as the README and the design documents
 * show: every method builds the default service on first use and then delegates to it.
 */
export const tokenService: TokenServiceApi = new Proxy({} as TokenServiceApi, {
  get(_target, name) {
    const method: unknown = typeof name === "string" ? Reflect.get(TokenService.prototype, name) : undefined;
    // Only the service's own methods: `then` and friends stay undefined, so the facade is not a thenable.
    if (typeof method !== "function" || name === "constructor") return undefined;
    return async (...args: unknown[]) => {
      const service = await getTokenService();
      return (method as (...a: unknown[]) => unknown).apply(service, args);
    };
  },
});
