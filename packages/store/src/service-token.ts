import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { systemClock, type Clock } from "./clock";
import { clientCredentialsMinter, type ClientCredentialsConfig, type MintedToken, type Minter } from "./client-credentials";
import { serviceTokenEnv } from "./env";
import { StorageError } from "./errors";
import { requireServiceToken, ServiceTokenError, serviceTokenProblem, type ServiceTokenErrorCode } from "./service-token-error";
import type { StoreLock, TokenStore } from "./types";

/** Structured log lines; the token package's Logger fits. Never handed a token or a secret. */
export interface ServiceTokenLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

const consoleLogger: ServiceTokenLogger = {
  info: (message, fields) => console.log(JSON.stringify({ level: "info", time: new Date().toISOString(), message, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ level: "warn", time: new Date().toISOString(), message, ...fields })),
};

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

interface Cached {
  token: string;
  expiresAtMs: number;
  issuedAtMs: number;
}

interface Cooldown {
  untilMs: number;
  code: ServiceTokenErrorCode;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const SUBJECT = "service-token";
// Fixed lookup "tokens": the store keeps only their blind index; the value lives in the sealed claims.
const tokenKey = (name: string) => `service-token:${name}`;
const cooldownKey = (name: string) => `service-token-cooldown:${name}`;

function option(name: string, value: number | undefined, fallback: number, min: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min) throw new ServiceTokenError("CONFIGURATION", `${name} must be an integer of at least ${min}`);
  return chosen;
}

/**
 * Service tokens shared through a TokenStore. A token is minted only when no valid one is cached
 * (valid: expires after now + margin, the margin capped at half its lifetime), and at most once per
 * expiry across processes: single flight in the process, then the store's lock, then a re-read
 * under the lock; a caller that does not get the lock polls the store instead of minting. A failed
 * mint starts a cooldown shared through the store, during which nobody mints again and a token
 * that has not expired yet is still served. State lives in this closure, so that logging or
 * inspecting the object shows no token.
 */
export function createServiceTokens(options: ServiceTokensOptions): ServiceTokens {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? consoleLogger;
  const marginMs = option("marginMs", options.marginMs, 60_000, 0);
  const cooldownMs = option("cooldownMs", options.cooldownMs, 30_000, 0);
  const mintTimeoutMs = option("mintTimeoutMs", options.mintTimeoutMs, 15_000, 1);
  const lockTtlMs = option("lockTtlMs", options.lockTtlMs, mintTimeoutMs + 15_000, mintTimeoutMs + 1);
  const waitMs = option("waitMs", options.waitMs, lockTtlMs, 0);
  const pollMs = option("pollMs", options.pollMs, 50, 1);

  let override: string | undefined;
  if (options.envToken === undefined) {
    const env = serviceTokenEnv();
    for (const warning of env.warnings) logger.warn(warning);
    if (env.override) {
      override = env.override.token;
      logger.info("service tokens: using the pre-provisioned token, minting nothing", { variable: env.override.variable });
    }
  } else if (options.envToken !== null) {
    override = requireServiceToken("envToken", options.envToken);
  }
  if (override !== undefined) {
    const token = override;
    return {
      getServiceToken: (name = "default") =>
        new Promise<string>((resolve) => {
          checkName(name);
          resolve(token);
        }),
    };
  }

  const { store, lock } = options;
  if (!store || !lock) throw new ServiceTokenError("CONFIGURATION", "store and lock are required unless TOKENVAULT_SERVICE_TOKEN is set");
  const credentials = options.mint ? undefined : (options.clientCredentials ?? serviceTokenEnv().clientCredentials);
  const mint = options.mint ?? (credentials && clientCredentialsMinter({ clock, ...credentials }));
  if (!mint) {
    throw new ServiceTokenError(
      "CONFIGURATION",
      "no way to get a service token: pass mint or clientCredentials, or set TOKENVAULT_SERVICE_TOKEN_ENDPOINT, TOKENVAULT_SERVICE_CLIENT_ID and TOKENVAULT_SERVICE_CLIENT_SECRET, or TOKENVAULT_SERVICE_TOKEN",
    );
  }

  const memo = new Map<string, Cached>();
  const inflight = new Map<string, Promise<string>>();
  const cooldowns = new Map<string, Cooldown>();
  const now = () => clock.now().getTime();
  const fresh = (c: Cached | null | undefined): c is Cached => !!c && c.expiresAtMs - Math.min(marginMs, (c.expiresAtMs - c.issuedAtMs) / 2) > now();
  const unexpired = (c: Cached | null | undefined): c is Cached => !!c && c.expiresAtMs > now();

  function checkName(name: string): void {
    if (typeof name !== "string" || !NAME.test(name)) throw new ServiceTokenError("INVALID_INPUT", "a service token name is 1-64 letters, digits or ._-");
  }

  function remember(name: string, cached: Cached): string {
    const known = memo.get(name);
    if (!known || cached.expiresAtMs >= known.expiresAtMs) memo.set(name, cached);
    return cached.token;
  }

  async function readShared(name: string): Promise<Cached | null> {
    const entry = await store!.get(tokenKey(name));
    const value = entry?.claims?.value;
    if (!entry || typeof value !== "string") return null;
    return { token: value, expiresAtMs: entry.expiresAt.getTime(), issuedAtMs: entry.issuedAt.getTime() };
  }

  async function readCooldown(name: string): Promise<Cooldown | null> {
    const entry = await store!.get(cooldownKey(name));
    const code = entry?.claims?.code;
    return entry && (code === "MINT_FAILED" || code === "MINT_TIMEOUT") ? { untilMs: entry.expiresAt.getTime(), code } : null;
  }

  /** Inside a cooldown: a token that has not expired yet, or the cooldown's error. */
  function serveOrRefuse(name: string, cooldown: Cooldown, ...candidates: (Cached | null | undefined)[]): string {
    const still = [memo.get(name), ...candidates].filter(unexpired).sort((a, b) => b.expiresAtMs - a.expiresAtMs)[0];
    if (still) return remember(name, still);
    throw new ServiceTokenError(cooldown.code, `minting the "${name}" service token failed; no new attempt before ${new Date(cooldown.untilMs).toISOString()}`, {
      retryAt: new Date(cooldown.untilMs),
    });
  }

  async function runMint(name: string): Promise<Cached> {
    const started = now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new ServiceTokenError("MINT_TIMEOUT", `minting took more than ${mintTimeoutMs} ms`)), mintTimeoutMs);
    const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(controller.signal.reason as Error), { once: true }));
    let minted: MintedToken;
    try {
      // Raced, so a minter that ignores the signal still cannot hold the lock past its ttl.
      minted = await Promise.race([mint!({ name, signal: controller.signal }), aborted]);
    } catch (error) {
      if (error instanceof ServiceTokenError) throw error;
      throw new ServiceTokenError("MINT_FAILED", `the minter failed (${error instanceof Error ? error.name : typeof error})`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    const problem = serviceTokenProblem(minted?.token, 1);
    if (problem) throw new ServiceTokenError("MINT_FAILED", `the minted token ${problem}`);
    const expiresAtMs = minted.expiresAt instanceof Date ? minted.expiresAt.getTime() : NaN;
    if (!(expiresAtMs > now())) throw new ServiceTokenError("MINT_FAILED", "the minted token has no future expiry");
    const issuedAtMs = minted.issuedAt instanceof Date && minted.issuedAt.getTime() <= expiresAtMs ? minted.issuedAt.getTime() : started;
    return { token: minted.token, expiresAtMs, issuedAtMs };
  }

  /** Holding the lock: re-read, honour a shared cooldown, else mint once and share it. */
  async function mintUnderLock(name: string): Promise<string> {
    const current = await readShared(name);
    if (fresh(current)) return remember(name, current);
    const shared = await readCooldown(name);
    if (shared && shared.untilMs > now()) {
      cooldowns.set(name, shared);
      return serveOrRefuse(name, shared, current);
    }
    let minted: Cached;
    try {
      minted = await runMint(name);
    } catch (error) {
      const failure = error as ServiceTokenError;
      const cooldown: Cooldown = { untilMs: now() + Math.max(cooldownMs, failure.retryAfterMs ?? 0), code: failure.code === "MINT_TIMEOUT" ? "MINT_TIMEOUT" : "MINT_FAILED" };
      cooldowns.set(name, cooldown);
      logger.warn("service tokens: mint failed, cooling down", { name, code: failure.code, status: failure.status, oauthError: failure.oauthError, cooldownMs: cooldown.untilMs - now() });
      if (cooldown.untilMs > now()) {
        const record = { id: randomUUID(), subject: `${SUBJECT}-cooldown`, expiresAt: new Date(cooldown.untilMs), claims: { code: cooldown.code } };
        await store!.store(cooldownKey(name), record).catch((e: unknown) => logger.warn("service tokens: cannot share the cooldown", { name, error: (e as Error).name }));
      }
      const still = [memo.get(name), current].filter(unexpired).sort((a, b) => b.expiresAtMs - a.expiresAtMs)[0];
      if (still) return remember(name, still);
      throw failure;
    }
    const record = { id: randomUUID(), subject: SUBJECT, issuedAt: new Date(minted.issuedAtMs), expiresAt: new Date(minted.expiresAtMs), claims: { value: minted.token } };
    // Not shared is not lost: this process uses it; the others will mint their own.
    await store!.store(tokenKey(name), record).catch((e: unknown) => logger.warn("service tokens: cannot share the minted token", { name, error: (e as Error).name }));
    return remember(name, minted);
  }

  async function obtain(name: string): Promise<string> {
    const current = await readShared(name);
    if (fresh(current)) return remember(name, current);
    const cooling = cooldowns.get(name);
    if (cooling && cooling.untilMs > now()) return serveOrRefuse(name, cooling, current);
    const deadline = performance.now() + waitMs;
    for (;;) {
      const owner = await lock!.acquire(tokenKey(name), lockTtlMs);
      if (owner) {
        try {
          return await mintUnderLock(name);
        } finally {
          await lock!.release(tokenKey(name), owner).catch((e: unknown) => logger.warn("service tokens: cannot release the mint lock", { name, error: (e as Error).name }));
        }
      }
      // Someone else is minting: wait for their token rather than minting a second one.
      if (performance.now() >= deadline) {
        const still = [memo.get(name), current].find(unexpired);
        if (still) return still.token;
        throw new ServiceTokenError("WAIT_TIMEOUT", `another process held the "${name}" mint lock for more than ${waitMs} ms`);
      }
      await sleep(pollMs);
      const polled = await readShared(name);
      if (fresh(polled)) return remember(name, polled);
    }
  }

  async function getServiceToken(name = "default"): Promise<string> {
    checkName(name);
    const known = memo.get(name);
    if (fresh(known)) return known.token;
    let flight = inflight.get(name);
    if (!flight) {
      flight = obtain(name)
        .catch((error: unknown) => {
          // The store is down: a token that has not expired still serves.
          const still = memo.get(name);
          if (error instanceof StorageError && unexpired(still)) {
            logger.warn("service tokens: store unavailable, serving the cached token", { name, code: error.code });
            return still.token;
          }
          throw error;
        })
        .finally(() => inflight.delete(name));
      inflight.set(name, flight);
    }
    return flight;
  }

  return { getServiceToken };
}
