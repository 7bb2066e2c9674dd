import { createEnv } from "@t3-oss/env-core";
import { resetDbEnvCacheForTests } from "@tokenvault/db";
import { developmentEncryptionKey, envSource, kitEnv, optionalHttpUrl, optionalText, refreshScheduleEnv, runtimeMode, vaultKeyVariables } from "@tokenvault/kit";
import { KeyConfigError, keyRingFromVariables, type KeyRing } from "@tokenvault/vault";
import { z } from "zod";
import { refreshScheduleOf, type RefreshSchedule } from "./options";

/** The only place this package reads the environment, on the kit's (runtime mode) and the vault key's variables. */
function readEnvVariables() {
  return createEnv({
    // The worker's schedule (the kit's, which the worker's env.ts extends too): the dashboard's next refresh.
    extends: [kitEnv(), refreshScheduleEnv()],
    server: {
      ...vaultKeyVariables,
      QUICKBOOKS_CLIENT_ID: optionalText,
      QUICKBOOKS_CLIENT_SECRET: optionalText,
      QUICKBOOKS_ENVIRONMENT: z.enum(["sandbox", "production"]).default("sandbox"),
      XERO_CLIENT_ID: optionalText,
      XERO_CLIENT_SECRET: optionalText,
      // Also from the setup guide. Tokenvault derives redirect URIs from APP_URL; these may only repeat them.
      QUICKBOOKS_REDIRECT_URI: optionalText,
      XERO_REDIRECT_URI: optionalText,
      OIDC_PROVIDERS: optionalText,
      PROVIDER_SIMULATOR_URL: optionalHttpUrl,
      APP_URL: optionalHttpUrl,
      PORT: z.coerce.number().int().min(1).max(65535).optional(),
      TOKEN_REFRESH_MARGIN_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
      CHECK_COALESCE_SECONDS: z.coerce.number().int().min(0).max(3600).default(10),
      TOKEN_CACHE: z.enum(["on", "off"]).default("on"),
      // Webhook endpoints a company may have (each event fans out to all of them).
      WEBHOOK_MAX_ENDPOINTS: z.coerce.number().int().min(1).max(100).default(10),
      // Where tokenService.fetch keeps the limits shared by every process (default below: Redis when REDIS_URL is set).
      PROVIDER_CALL_LIMITS: z.enum(["database", "redis"]).optional(),
      // Read as the store reads it (packages/store/src/env.ts): one Redis for the whole deployment.
      REDIS_URL: optionalText.refine((v) => v === undefined || /^rediss?:\/\/[^\s]+$/.test(v), { message: "must be a redis:// or rediss:// URL" }),
      // Keys of the shared limits start with it: deployments (or test runs) sharing one Redis keep apart.
      PROVIDER_CALL_LIMITS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1 to 64 letters, digits, _ . or -").default("tokenvault"),
      // JSON per provider id: lower limits than the provider's definition (parsed by providerCallLimitsFromEnv).
      PROVIDER_LIMITS: optionalText,
      // Set by pnpm to where it was invoked: a CLI run through a package script resolves the user's paths from there.
      INIT_CWD: optionalText,
    },
    ...envSource("token", KeyConfigError.fromEnv),
  });
}
type TokenEnv = ReturnType<typeof readEnvVariables>;

// Each cached on first success; a configuration error is thrown again on the next call.
let parsedEnv: TokenEnv | undefined;
let providerSettings: ProviderSettings | undefined;
let keyRing: KeyRing | undefined;

function readEnv(): TokenEnv {
  parsedEnv ??= readEnvVariables();
  return parsedEnv;
}

/**
 * Forgets the parsed environment here and in @tokenvault/db, so the next read sees process.env
 * again. For tests that need another environment in the same process (prefer a child process).
 * The vault and providers already built by the package index keep what they were built from.
 */
export function resetTokenEnvCacheForTests(): void {
  parsedEnv = undefined;
  providerSettings = undefined;
  keyRing = undefined;
  resetDbEnvCacheForTests();
}

export interface ProviderSettings {
  quickbooks: { clientId: string; clientSecret: string; environment: "sandbox" | "production" } | null;
  xero: { clientId: string; clientSecret: string } | null;
  /** Where providers without credentials are simulated (development and tests), or null. */
  simulatorUrl: string | null;
  /** JSON of generic OAuth / OIDC providers (see docs/configuration.md; an example in .env.example). */
  oidcProvidersJson: string | undefined;
  /** Production: generic providers are reached over https only (elsewhere http to loopback too). Absent: production. */
  production?: boolean;
  appUrl: string;
  refreshMarginMs: number;
  /** Live checks of a connection within this window share one provider call. */
  checkCoalesceMs: number;
  /** The warm path's token cache (TOKEN_CACHE, default on; only ever active with a LISTEN connection). */
  tokenCache: boolean;
}

/** Where a provider sends the user back: always derived from APP_URL. */
export function oauthRedirectUri(appUrl: string, provider: string): string {
  return `${appUrl}/api/oauth/${provider}/callback`;
}

/**
 * A redirect URI variable from the setup guide is accepted only when it repeats the derived
 * URI: honouring a different one would send the provider somewhere Tokenvault does not listen.
 */
function checkRedirectUri(variable: string, value: string | undefined, derived: string): void {
  if (value !== undefined && value !== derived) {
    throw new KeyConfigError(variable, `differs from the redirect URI Tokenvault uses, ${derived}, which it derives from APP_URL: set APP_URL instead and unset ${variable}.`);
  }
}

/** Provider credentials and URLs. In production a provider without credentials is not offered. */
export function providerSettingsFromEnv(): ProviderSettings {
  providerSettings ??= buildProviderSettings(readEnv());
  return providerSettings;
}

function buildProviderSettings(env: TokenEnv): ProviderSettings {
  const pair = (id: string | undefined, secret: string | undefined, name: string) => {
    if (!!id !== !!secret) throw new KeyConfigError(`${name}_CLIENT_${id ? "SECRET" : "ID"}`, `is missing: set both ${name}_CLIENT_ID and ${name}_CLIENT_SECRET, or neither.`);
    return id && secret ? { clientId: id, clientSecret: secret } : null;
  };
  const qb = pair(env.QUICKBOOKS_CLIENT_ID, env.QUICKBOOKS_CLIENT_SECRET, "QUICKBOOKS");
  const appUrl = (env.APP_URL ?? `http://localhost:${env.PORT ?? 3000}`).replace(/\/+$/, "");
  checkRedirectUri("QUICKBOOKS_REDIRECT_URI", env.QUICKBOOKS_REDIRECT_URI, oauthRedirectUri(appUrl, "quickbooks"));
  checkRedirectUri("XERO_REDIRECT_URI", env.XERO_REDIRECT_URI, oauthRedirectUri(appUrl, "xero"));
  return {
    quickbooks: qb ? { ...qb, environment: env.QUICKBOOKS_ENVIRONMENT } : null,
    xero: pair(env.XERO_CLIENT_ID, env.XERO_CLIENT_SECRET, "XERO"),
    simulatorUrl: (env.PROVIDER_SIMULATOR_URL ?? (runtimeMode().development ? "http://127.0.0.1:4010" : null))?.replace(/\/+$/, "") ?? null,
    oidcProvidersJson: env.OIDC_PROVIDERS,
    production: runtimeMode().production,
    appUrl,
    refreshMarginMs: env.TOKEN_REFRESH_MARGIN_SECONDS * 1000,
    checkCoalesceMs: env.CHECK_COALESCE_SECONDS * 1000,
    tokenCache: env.TOKEN_CACHE === "on",
  };
}

/** How many webhook endpoints a company may have (WEBHOOK_MAX_ENDPOINTS, 1 to 100, default 10). */
export function webhookMaxEndpointsFromEnv(): number {
  return readEnv().WEBHOOK_MAX_ENDPOINTS;
}

/** A provider's limits an operator may lower (PROVIDER_LIMITS): the fields of ProviderLimits, each a positive integer. */
const limitOverrideSchema = z.record(
  z.string().min(1),
  z.strictObject({
    requestsPerMinute: z.number().int().positive(),
    requestsPerDay: z.number().int().positive(),
    tenantConcurrency: z.number().int().positive().max(100),
    concurrency: z.number().int().positive().max(100),
  }).partial(),
);
export type ProviderLimitOverrides = z.infer<typeof limitOverrideSchema>;

export interface ProviderCallLimitSettings {
  /** Where the shared limits live: the token database, or the Redis at `url`. */
  backend: { kind: "database" } | { kind: "redis"; url: string; prefix: string };
  /** Per provider id (as written; the wiring resolves aliases and refuses unknown ids). */
  overrides: ProviderLimitOverrides;
}

/**
 * tokenService.fetch's shared limits: PROVIDER_CALL_LIMITS (database | redis; default redis when
 * REDIS_URL is set) and PROVIDER_LIMITS. Errors name the variable and the field, never a value.
 */
export function providerCallLimitsFromEnv(): ProviderCallLimitSettings {
  const env = readEnv();
  const kind = env.PROVIDER_CALL_LIMITS ?? (env.REDIS_URL ? "redis" : "database");
  if (kind === "redis" && !env.REDIS_URL) throw new KeyConfigError("REDIS_URL", "is not set: PROVIDER_CALL_LIMITS=redis needs it.");
  return { backend: kind === "redis" ? { kind, url: env.REDIS_URL!, prefix: env.PROVIDER_CALL_LIMITS_PREFIX } : { kind }, overrides: parseLimitOverrides(env.PROVIDER_LIMITS) };
}

function parseLimitOverrides(json: string | undefined): ProviderLimitOverrides {
  if (json === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // JSON.parse's message quotes the input: not repeated.
    throw new KeyConfigError("PROVIDER_LIMITS", "is not valid JSON: expected an object per provider id, e.g. {\"xero\":{\"requestsPerMinute\":30}}.");
  }
  const parsed = limitOverrideSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  // Paths and zod's messages (which name keys and bounds, not values).
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  throw new KeyConfigError("PROVIDER_LIMITS", `is invalid: ${problems.join("; ")}.`);
}

/** The background worker's schedule (WORKER_REFRESH_AHEAD_SECONDS, WORKER_GENERIC_IDLE_DAYS), for the worker and the next refresh the dashboard shows. */
export function refreshScheduleFromEnv(): RefreshSchedule {
  return refreshScheduleOf(readEnv());
}

/**
 * The vault's key ring, validated: a missing or malformed key throws KeyConfigError naming
 * the variable. One convenience, for a fresh clone only: in development or test on the
 * embedded database, a missing key is generated once into .data/.
 */
export function keyRingFromEnv(): KeyRing {
  keyRing ??= buildKeyRing(readEnv());
  return keyRing;
}

function buildKeyRing(env: TokenEnv): KeyRing {
  return keyRingFromVariables(
    { TOKEN_ENCRYPTION_KEY: env.TOKEN_ENCRYPTION_KEY, TOKEN_ENCRYPTION_KEYS_PREVIOUS: env.TOKEN_ENCRYPTION_KEYS_PREVIOUS, aliases: { ENCRYPTION_KEY: env.ENCRYPTION_KEY } },
    { fallback: developmentEncryptionKey, warn: (message) => console.warn(message) },
  );
}

/** Where relative paths given to a CLI are resolved from: where `pnpm` was invoked (INIT_CWD), else the working directory. */
export function invocationDirectory(): string {
  return readEnv().INIT_CWD ?? process.cwd();
}
