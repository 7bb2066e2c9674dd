import { Vault } from "@tokenvault/vault";
import { keyRingFromEnv, providerSettingsFromEnv } from "./env";

export { TokenService, type TokenServiceDeps } from "./token-service";
export { getTokenService, closeTokenService, tokenService, type TokenServiceApi } from "./default-service";
export { closeOnShutdown } from "./shutdown";
export { refreshMarginFor } from "./refresh/freshness";
export { connectionHistorySql, HISTORY_RANGES, type ConnectionHistoryDay, type HistoryRange, type HistoryScope } from "./views/connection-history";
export { keepAliveAt, nextScheduledRefresh, refreshTokenIdleMs } from "./views/refresh-schedule";
export { refreshScheduleFromEnv, resetTokenEnvCacheForTests } from "./env";
export { DEFAULT_OPTIONS, DEFAULT_REFRESH_SCHEDULE, RECONNECT_NOTICE_DAYS, refreshScheduleOf, type RefreshSchedule, type TokenServiceOptions } from "./options";
export type { StaticSecretKind } from "./secrets/static-secrets";
export type { ExpiringToken } from "./tokens/token-lifecycle";
export type { RevocationRetryReport } from "./connect/revocation-queue";
export type { ImportResult } from "./import/import-connection";
export { parseImportRecord, type ImportRecord, type ImportRecordInput } from "./import/import-record";
export type { ConnectionSelector } from "./connections/connection-store";
export {
  MAX_METADATA_BYTES,
  MAX_NAME_LENGTH,
  MAX_TAGS,
  MAX_TAG_LENGTH,
  connectionFilterSchema,
  connectionSettingsSchema,
  type ConnectionFilter,
  type ConnectionFilterInput,
  type ConnectionSettingsInput,
  type ConnectionSettingsView,
} from "./connections/connection-settings";
export type { ConnectionUpkeepStore, UpkeepConnection, UpkeepIncident, UpkeepSecret } from "./connections/connection-upkeep-store";
export type { ConnectionRefresh, ConnectionRefreshOptions, ConnectionRefreshOutcome, ConnectionRefreshReason } from "./refresh/connection-refresh";
export { dueConnectionsSql, type DueCriteria } from "./connections/due-connections";
export { systemClock, type Clock } from "./clock";
export { TokenError, DecryptionError, KeyConfigError, TOKEN_ERROR_CODES, type TokenErrorCode, type DecryptionFailureReason } from "@tokenvault/vault";
export { databaseUnavailable } from "./database-unavailable";
export { MAX_EXTRA_SCOPES, SCOPE_TOKEN_PATTERN } from "./validation";
export { consoleLogger, silentLogger, type Logger } from "./logger";
export { pinoLogger, REDACTED_FIELDS } from "./pino-logger";
export { TokenMetrics, defaultMetricsText, defaultTokenMetrics, type RefreshOutcome } from "./metrics/token-metrics";
export { ProviderRegistry, PROVIDER_ALIASES } from "./providers/registry";
export { providersFromSettings } from "./providers/from-settings";
export {
  BUILT_IN_PROVIDERS,
  BUILT_IN_UPKEEP_FACTS,
  GENERIC_PROVIDER_DEFAULTS,
  PROVIDER_ID_PATTERN,
  QUICKBOOKS,
  XERO,
  upkeepFactsOf,
  type ProviderDefinition,
  type ProviderLifetimes,
  type ProviderLimits,
  type UpkeepFacts,
} from "./providers/definitions";
export { quickbooksAdapter } from "./providers/quickbooks";
export { xeroAdapter } from "./providers/xero";
export { SIMULATOR_CLIENTS, simulatedAdapters, simulatorOidcProvider, simulatorQuickbooksEndpoints, simulatorXeroEndpoints } from "./providers/simulated";
export { genericOidcAdapter, type GenericProviderConfig } from "./providers/generic-oidc";
export type { GenericOAuthClient, ProviderAdapter, SdkClient } from "./providers/types";
export type * from "./types";
export * from "./webhooks";
export * from "./api-keys";
export {
  ProviderCallError,
  DEFAULT_CALL_OPTIONS,
  MAX_PROVIDER_BODY,
  type CallBudget,
  type CallLimitSettings,
  type CallLimitsBackend,
  type ConnectionRef,
  type ProviderAnswer,
  type ProviderCallOptions,
  type ProviderCallsConfig,
  type ProviderFetchInit,
  type RateWindow,
} from "./provider-calls";

/**
 * Validates every setting the token service reads (vault keys, provider credentials, URLs) and
 * throws a KeyConfigError naming the first bad variable. Call it at process start-up (the web
 * app does in instrumentation.ts) so a misconfiguration stops the process instead of a request.
 */
export function validateTokenEnvironment(): void {
  new Vault(keyRingFromEnv());
  providerSettingsFromEnv();
}
