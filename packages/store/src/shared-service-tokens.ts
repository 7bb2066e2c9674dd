import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { SingleFlight, type Clock } from "@tokenvault/kit";
import type { Minter } from "./client-credentials";
import { StorageError } from "./errors";
import { isFresh, isUnexpired, longestUnexpired, type CachedServiceToken, type MintCooldown } from "./service-token-cache";
import { mintOnce } from "./service-token-mint";
import { ServiceTokenError } from "./service-token-error";
import type { ServiceTokenLogger } from "./service-token";
import type { StoreLock, TokenStore } from "./types";

const SUBJECT = "service-token";
// Fixed lookup "tokens": the store keeps only their blind index; the value lives in the sealed claims.
const tokenKey = (name: string) => `service-token:${name}`;
const cooldownKey = (name: string) => `service-token-cooldown:${name}`;

export interface SharedServiceTokenSettings {
  marginMs: number;
  cooldownMs: number;
  mintTimeoutMs: number;
  lockTtlMs: number;
  waitMs: number;
  pollMs: number;
}

export interface SharedServiceTokenDeps {
  store: TokenStore;
  lock: StoreLock;
  mint: Minter;
  clock: Clock;
  logger: ServiceTokenLogger;
  settings: SharedServiceTokenSettings;
}

const errorName = (error: unknown) => (error as Error).name;

/**
 * Service tokens minted at most once per expiry across processes: single flight in the process,
 * then the store's lock, then a re-read under the lock; a caller that does not get the lock polls
 * the store instead of minting. A failed mint starts a cooldown shared through the store. Kept
 * out of sight by createServiceTokens (service-token.ts), so no token shows when its result is logged.
 */
export class SharedServiceTokens {
  private readonly memo = new Map<string, CachedServiceToken>();
  private readonly cooldowns = new Map<string, MintCooldown>();
  private readonly flights = new SingleFlight<string>();

  constructor(private readonly deps: SharedServiceTokenDeps) {}

  private now(): number {
    return this.deps.clock.now().getTime();
  }

  private fresh(cached: CachedServiceToken | null | undefined): cached is CachedServiceToken {
    return isFresh(cached, this.now(), this.deps.settings.marginMs);
  }

  get(name: string): Promise<string> {
    const known = this.memo.get(name);
    if (this.fresh(known)) return Promise.resolve(known.token);
    return this.flights.run(name, () => this.obtain(name).catch((error: unknown) => this.servedThroughOutage(name, error)));
  }

  /** The store is down: a token that has not expired still serves. */
  private servedThroughOutage(name: string, error: unknown): string {
    const still = this.memo.get(name);
    if (error instanceof StorageError && isUnexpired(still, this.now())) {
      this.deps.logger.warn("service tokens: store unavailable, serving the cached token", { name, code: error.code });
      return still.token;
    }
    throw error;
  }

  private async obtain(name: string): Promise<string> {
    const { lock, logger, settings } = this.deps;
    const current = await this.readShared(name);
    if (this.fresh(current)) return this.remember(name, current);
    const cooling = this.cooldowns.get(name);
    if (cooling && cooling.untilMs > this.now()) return this.serveOrRefuse(name, cooling, current);
    const deadline = performance.now() + settings.waitMs;
    for (;;) {
      const owner = await lock.acquire(tokenKey(name), settings.lockTtlMs);
      if (owner) {
        try {
          return await this.mintUnderLock(name);
        } finally {
          await lock.release(tokenKey(name), owner).catch((e: unknown) => logger.warn("service tokens: cannot release the mint lock", { name, error: errorName(e) }));
        }
      }
      // Someone else is minting: wait for their token rather than minting a second one.
      if (performance.now() >= deadline) {
        const still = [this.memo.get(name), current].find((c) => isUnexpired(c, this.now()));
        if (still) return still.token;
        throw new ServiceTokenError("WAIT_TIMEOUT", `another process held the "${name}" mint lock for more than ${settings.waitMs} ms`);
      }
      await sleep(settings.pollMs);
      const polled = await this.readShared(name);
      if (this.fresh(polled)) return this.remember(name, polled);
    }
  }

  /** Holding the lock: re-read, honour a shared cooldown, else mint once and share it. */
  private async mintUnderLock(name: string): Promise<string> {
    const { store, mint, logger, settings } = this.deps;
    const current = await this.readShared(name);
    if (this.fresh(current)) return this.remember(name, current);
    const shared = await this.readCooldown(name);
    if (shared && shared.untilMs > this.now()) {
      this.cooldowns.set(name, shared);
      return this.serveOrRefuse(name, shared, current);
    }
    let minted: CachedServiceToken;
    try {
      minted = await mintOnce(mint, name, settings.mintTimeoutMs, () => this.now());
    } catch (error) {
      return this.afterFailedMint(name, error as ServiceTokenError, current);
    }
    const record = { id: randomUUID(), subject: SUBJECT, issuedAt: new Date(minted.issuedAtMs), expiresAt: new Date(minted.expiresAtMs), claims: { value: minted.token } };
    // Not shared is not lost: this process uses it; the others will mint their own.
    await store.store(tokenKey(name), record).catch((e: unknown) => logger.warn("service tokens: cannot share the minted token", { name, error: errorName(e) }));
    return this.remember(name, minted);
  }

  /** A failed mint: start a cooldown here and in the store, then serve a token not expired yet or fail. */
  private async afterFailedMint(name: string, failure: ServiceTokenError, current: CachedServiceToken | null): Promise<string> {
    const { store, logger, settings } = this.deps;
    const cooldown: MintCooldown = { untilMs: this.now() + Math.max(settings.cooldownMs, failure.retryAfterMs ?? 0), code: failure.code === "MINT_TIMEOUT" ? "MINT_TIMEOUT" : "MINT_FAILED" };
    this.cooldowns.set(name, cooldown);
    logger.warn("service tokens: mint failed, cooling down", { name, code: failure.code, status: failure.status, oauthError: failure.oauthError, cooldownMs: cooldown.untilMs - this.now() });
    if (cooldown.untilMs > this.now()) {
      const record = { id: randomUUID(), subject: `${SUBJECT}-cooldown`, expiresAt: new Date(cooldown.untilMs), claims: { code: cooldown.code } };
      await store.store(cooldownKey(name), record).catch((e: unknown) => logger.warn("service tokens: cannot share the cooldown", { name, error: errorName(e) }));
    }
    const still = longestUnexpired(this.now(), [this.memo.get(name), current]);
    if (still) return this.remember(name, still);
    throw failure;
  }

  /** Inside a cooldown: a token that has not expired yet, or the cooldown's error. */
  private serveOrRefuse(name: string, cooldown: MintCooldown, current: CachedServiceToken | null): string {
    const still = longestUnexpired(this.now(), [this.memo.get(name), current]);
    if (still) return this.remember(name, still);
    throw new ServiceTokenError(cooldown.code, `minting the "${name}" service token failed; no new attempt before ${new Date(cooldown.untilMs).toISOString()}`, {
      retryAt: new Date(cooldown.untilMs),
    });
  }

  private remember(name: string, cached: CachedServiceToken): string {
    const known = this.memo.get(name);
    if (!known || cached.expiresAtMs >= known.expiresAtMs) this.memo.set(name, cached);
    return cached.token;
  }

  private async readShared(name: string): Promise<CachedServiceToken | null> {
    const entry = await this.deps.store.get(tokenKey(name));
    const value = entry?.claims?.value;
    if (!entry || typeof value !== "string") return null;
    return { token: value, expiresAtMs: entry.expiresAt.getTime(), issuedAtMs: entry.issuedAt.getTime() };
  }

  private async readCooldown(name: string): Promise<MintCooldown | null> {
    const entry = await this.deps.store.get(cooldownKey(name));
    const code = entry?.claims?.code;
    return entry && (code === "MINT_FAILED" || code === "MINT_TIMEOUT") ? { untilMs: entry.expiresAt.getTime(), code } : null;
  }
}
