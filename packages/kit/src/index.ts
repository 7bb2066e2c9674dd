export { blankIsUnset, configurationError, envSource, EnvError, optionalHttpUrl, optionalText, type EnvErrorFactory } from "./env-reader";
export { kitEnv, refreshScheduleEnv, resetKitEnvCacheForTests, vaultKeyVariables, type KitEnv, type RefreshScheduleEnv } from "./env";
export { runtimeMode, runtimeModeOf, type DatabaseKind, type RuntimeMode, type RuntimeModeName } from "./runtime-mode";
export { developmentEncryptionKey, developmentSessionSecret } from "./dev-secrets";
export { loadOrCreateDevSecret, loadRootEnvFile, repoRoot } from "./paths";
export { systemClock, type Clock } from "./clock";
export { consoleLogger, silentLogger, type Logger } from "./logger";
export { SingleFlight } from "./single-flight";
export { IoWatermark } from "./io-watermark";
