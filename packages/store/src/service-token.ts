import { consoleLogger, systemClock, type Clock, type Logger } from "@tokenvault/kit";
import { clientCredentialsMinter, type ClientCredentialsConfig, type Minter } from "./client-credentials";
import { serviceTokenEnv } from "./env";
import { requireServiceToken, ServiceTokenError } from "./service-token-error";
import { SharedServiceTokens, type SharedServiceTokenSettings } from "./shared-service-tokens";
import type { StoreLock, TokenStore } from "./types";

/** Structured log lines (the kit's Logger fits). Never handed a token or a secret. */
export type ServiceTokenLogger = Pick<Logger, "info" | "warn">;

export interface ServiceTokensOptions {
  /** Where minted tokens are shared by every process (sealed like every entry). Required unless a token is pre-provisioned. */
  store?: TokenStore;
  /** The store's lock: one process mints while the others wait. Required unless a token is pre-provisioned. */
  lock?: StoreLock;
  /** Default: the client_credentials minter on `clientCredentials`, or on the TOKENVAULT_SERVICE_* variables. */
  mint?: Minter;
  clientCredentials?: ClientCredentialsConfig;
  /**
   * A pre-provisioned token that replaces minting for every name. Default: TOKENVAULT_SERVICE_TOKEN
   * (alias HEMERA_SERVICE_TOKEN) from the environment; null ignores the environment.
   */
  envToken?: string | null;
  /** Mint again when the token expires within this margin (capped at half its lifetime). Default 60 s. */
  marginMs?: number;
  /** After a failed mint, no new attempt for this long (or the endpoint's Retry-After if longer). Default 30 s. */
  cooldownMs?: number;
  /** A mint taking longer fails with MINT_TIMEOUT. Default 15 s. */
  mintTimeoutMs?: number;
  /** How long the mint lock is held at most; longer than mintTimeoutMs. Default mintTimeoutMs + 15 s. */
  lockTtlMs?: number;
  /** How long a caller waits for another process's mint before WAIT_TIMEOUT. Default lockTtlMs. */
  waitMs?: number;
  /** How often a waiting caller re-reads the store. Default 50 ms. */
  pollMs?: number;
  clock?: Clock;
  logger?: ServiceTokenLogger;
}

export interface ServiceTokens {
  /** The token this service calls others with, minted at most once per expiry across processes. */
  getServiceToken(name?: string): Promise<string>;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

function checkName(name: string): void {
  if (typeof name !== "string" || !NAME.test(name)) throw new ServiceTokenError("INVALID_INPUT", "a service token name is 1-64 letters, digits or ._-");
}

function option(name: string, value: number | undefined, fallback: number, min: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min) throw new ServiceTokenError("CONFIGURATION", `${name} must be an integer of at least ${min}`);
  return chosen;
}

function settingsOf(options: ServiceTokensOptions): SharedServiceTokenSettings {
  const mintTimeoutMs = option("mintTimeoutMs", options.mintTimeoutMs, 15_000, 1);
  const lockTtlMs = option("lockTtlMs", options.lockTtlMs, mintTimeoutMs + 15_000, mintTimeoutMs + 1);
  return {
    marginMs: option("marginMs", options.marginMs, 60_000, 0),
    cooldownMs: option("cooldownMs", options.cooldownMs, 30_000, 0),
    mintTimeoutMs,
    lockTtlMs,
    waitMs: option("waitMs", options.waitMs, lockTtlMs, 0),
    pollMs: option("pollMs", options.pollMs, 50, 1),
  };
}

/** The pre-provisioned token (the envToken option, else TOKENVAULT_SERVICE_TOKEN / HEMERA_SERVICE_TOKEN), if any. */
function overrideToken(options: ServiceTokensOptions, logger: ServiceTokenLogger): string | undefined {
  if (options.envToken === null) return undefined;
  if (options.envToken !== undefined) return requireServiceToken("envToken", options.envToken);
  const env = serviceTokenEnv();
  for (const warning of env.warnings) logger.warn(warning);
  if (!env.override) return undefined;
  logger.info("service tokens: using the pre-provisioned token, minting nothing", { variable: env.override.variable });
  return env.override.token;
}

function minterOf(options: ServiceTokensOptions, clock: Clock): Minter {
  if (options.mint) return options.mint;
  const credentials = options.clientCredentials ?? serviceTokenEnv().clientCredentials;
  if (credentials) return clientCredentialsMinter({ clock, ...credentials });
  throw new ServiceTokenError(
    "CONFIGURATION",
    "no way to get a service token: pass mint or clientCredentials, or set TOKENVAULT_SERVICE_TOKEN_ENDPOINT, TOKENVAULT_SERVICE_CLIENT_ID and TOKENVAULT_SERVICE_CLIENT_SECRET, or TOKENVAULT_SERVICE_TOKEN",
  );
}

/**
 * Service tokens shared through a TokenStore. A token is minted only when no valid one is cached
 * (the margin rule: service-token-cache.ts), and at most once per expiry across processes
 * (shared-service-tokens.ts). Only getServiceToken is exposed, closing over the state, so that
 * logging or inspecting the result shows no token.
 */
export function createServiceTokens(options: ServiceTokensOptions): ServiceTokens {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger;
  const settings = settingsOf(options);
  const override = overrideToken(options, logger);
  if (override !== undefined) {
    return {
      getServiceToken: (name = "default") =>
        new Promise<string>((resolve) => {
          checkName(name);
          resolve(override);
        }),
    };
  }
  const { store, lock } = options;
  if (!store || !lock) throw new ServiceTokenError("CONFIGURATION", "store and lock are required unless TOKENVAULT_SERVICE_TOKEN is set");
  const shared = new SharedServiceTokens({ store, lock, mint: minterOf(options, clock), clock, logger, settings });
  return {
    getServiceToken: (name = "default") =>
      new Promise<string>((resolve) => {
        checkName(name);
        resolve(shared.get(name));
      }),
  };
}
