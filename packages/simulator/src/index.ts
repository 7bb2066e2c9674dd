export { startSimulator, type Simulator, type SimulatorOptions } from "./server";
export { connectSimulator, HttpSimulatorControl, SimulatorControlError } from "./control-client";
export type { SimulatorControl, ClockView, ClientView, GrantView, GrantFilter, RevokeSelector, RefreshTokenView, SettingsPatch, UsageFilter } from "./control";
export { realLimits, LIMIT_PROBLEMS, type ApiLimits, type LimitsPatch, type ProviderLimits, type LimitProblem, type ApiUsage, type TenantUsage, type AppUsage } from "./limits";
export type { Settings } from "./context";
export type { Fault, FaultSpec, FaultKind, Endpoint } from "./faults";
export type { MintGrantsInput, MintedGrant } from "./mint";
export type { Stats, ProviderStats, GrantCounters, ClientCounters } from "./state";
export { UPSTASH_PATH, type UpstashOptions, type UpstashCredentials } from "./upstash";
export {
  DEFAULT_CLIENTS,
  INTUIT_CLIENT_ID,
  INTUIT_CLIENT_SECRET,
  XERO_CLIENT_ID,
  XERO_CLIENT_SECRET,
  OIDC_CLIENT_ID,
  OIDC_CLIENT_SECRET,
  type Provider,
  type ClientRecord,
  type RegisterClientInput,
} from "./clients";
export { INTUIT_ID_TOKEN_ISSUER } from "./intuit";
export { xeroIssuer } from "./xero";
export { oidcIssuer } from "./oidc";
export { pkceS256 } from "./keys";
export { intuitEndpoints, xeroEndpoints, oidcEndpoints } from "./endpoints";
