import { getDatabase } from "@tokenvault/db";
import { InMemoryTokenStore } from "./backends/memory-store";
import { PostgresTokenStore } from "./backends/postgres-store";
import { connectRedisClusterTokenStore } from "./backends/redis-cluster-connection";
import { connectRedisTokenStore } from "./backends/redis-connection";
import { RedisTokenStore } from "./backends/redis-store";
import { upstashScripts } from "./backends/clients";
import { storeSettingsFromEnv } from "./env";
import { StorageError } from "./errors";
import { createServiceTokens, type ServiceTokens } from "./service-token";
import type { NewTokenMetadata, StoreLock, TokenMetadata, TokenStore } from "./types";

/** Separates a second store on the same backend (e.g. sign-in sessions) from the default one. */
export interface StoreFromEnvOptions {
  /** Names the blind indexes and envelopes, and the PostgreSQL rows' namespace. Default "tokenvault". */
  namespace?: string;
  /** Redis and Upstash key prefix. Default "tokenvault:store". */
  prefix?: string;
}

/**
 * The store TOKEN_STORE names: unset or `postgres`, the app's own database (embedded or
 * PostgreSQL); `redis` (REDIS_URL, or REDIS_CLUSTER_NODES for a Redis Cluster), `upstash` (UPSTASH_REDIS_REST_URL/_TOKEN) or `memory`. The
 * Redis and Upstash SDKs are loaded only here, and only when chosen.
 */
export async function createTokenStoreFromEnv(options: StoreFromEnvOptions = {}): Promise<TokenStore & StoreLock> {
  const settings = storeSettingsFromEnv();
  const { namespace, prefix } = options;
  switch (settings.backend) {
    case "memory":
      return new InMemoryTokenStore({ namespace });
    case "postgres":
      return new PostgresTokenStore((await getDatabase()).prisma, { namespace });
    case "redis":
      if ("clusterNodes" in settings) return connectRedisClusterTokenStore(settings.clusterNodes, { namespace, prefix });
      return connectRedisTokenStore(settings.url, { namespace, prefix });
    case "upstash": {
      const { Redis } = await import("@upstash/redis");
      return new RedisTokenStore(upstashScripts(new Redis({ url: settings.url, token: settings.token })), { namespace, prefix });
    }
  }
}

function isLock(store: TokenStore): store is TokenStore & StoreLock {
  const candidate = store as Partial<StoreLock>;
  return typeof candidate.acquire === "function" && typeof candidate.release === "function";
}

/** A store built on first use: what getTokenStore returns when the app set none. Every built-in backend is its own lock. */
export class LazyTokenStore implements TokenStore, StoreLock {
  private building: Promise<TokenStore> | undefined;

  constructor(private readonly build: () => Promise<TokenStore>) {}

  private async lockTarget(): Promise<StoreLock> {
    const store = await this.target();
    if (!isLock(store)) throw new StorageError("lock", "CONFIGURATION", "this token store has no lock: pass one to createServiceTokens({ store, lock })");
    return store;
  }

  async acquire(name: string, ttlMs: number): Promise<string | null> {
    return (await this.lockTarget()).acquire(name, ttlMs);
  }
  async release(name: string, owner: string): Promise<void> {
    return (await this.lockTarget()).release(name, owner);
  }

  private target(): Promise<TokenStore> {
    // A failed build (a backend down at start-up) is tried again on the next call.
    this.building ??= this.build().catch((error: unknown) => {
      this.building = undefined;
      throw error;
    });
    return this.building;
  }

  async store(token: string, metadata: NewTokenMetadata): Promise<void> {
    return (await this.target()).store(token, metadata);
  }
  async get(token: string): Promise<TokenMetadata | null> {
    return (await this.target()).get(token);
  }
  async getById(id: string): Promise<TokenMetadata | null> {
    return (await this.target()).getById(id);
  }
  async delete(token: string): Promise<boolean> {
    return (await this.target()).delete(token);
  }
  async list(subject: string): Promise<TokenMetadata[]> {
    return (await this.target()).list(subject);
  }
  async revoke(token: string): Promise<boolean> {
    return (await this.target()).revoke(token);
  }
  async isRevoked(token: string): Promise<boolean> {
    return (await this.target()).isRevoked(token);
  }
  async cleanup(): Promise<number> {
    return (await this.target()).cleanup();
  }
  async close(): Promise<void> {
    const building = this.building;
    this.building = undefined;
    if (building) await (await building.catch(() => undefined))?.close();
  }
}

let current: TokenStore | undefined;
let serviceTokens: ServiceTokens | undefined;

/** Sets the process's token store (an app wires it once at start-up). */
export function setTokenStore(store: TokenStore): void {
  current = store;
  serviceTokens = undefined;
}

/** The process's token store: the one set by setTokenStore, else the one TOKEN_STORE names, built on first use. */
export function getTokenStore(): TokenStore {
  current ??= new LazyTokenStore(createTokenStoreFromEnv);
  return current;
}

/**
 * The token this service calls others with (see createServiceTokens), through the process's
 * token store and its lock, the minter and margins from the environment: minted at most once
 * per expiry across processes, or TOKENVAULT_SERVICE_TOKEN when it is set.
 */
export async function getServiceToken(name = "default"): Promise<string> {
  if (!serviceTokens) {
    const store = getTokenStore();
    // A store set by the app without a lock of its own gets the lazy one's refusal on first mint.
    serviceTokens = createServiceTokens({ store, lock: isLock(store) ? store : new LazyTokenStore(() => Promise.resolve(store)) });
  }
  return serviceTokens.getServiceToken(name);
}
