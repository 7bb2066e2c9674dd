// @tokenvault/store: a store for the tokens a service issues or receives for itself.
import { nodeRedisScripts, upstashScripts, type NodeRedisLike, type UpstashLike } from "./backends/clients";
import { RedisStoreLock, type RedisStoreLockOptions } from "./backends/redis-lock";
import { RedisTokenStore, type RedisTokenStoreOptions } from "./backends/redis-store";
import { StorageError } from "./errors";
import type { TokenStore } from "./types";

export type { Json, NewTokenMetadata, StoreLock, TokenMetadata, TokenStore } from "./types";
export { StorageError, STORAGE_ERROR_CODES, type StorageErrorCode, type StorageOperation } from "./errors";
export { systemClock, type Clock } from "./clock";
export type { StoreOptions } from "./options";
export { LIMITS } from "./codec";
export { InMemoryTokenStore, type InMemoryTokenStoreOptions } from "./backends/memory-store";
export { RedisTokenStore, type RedisTokenStoreOptions, type ScriptClient } from "./backends/redis-store";
export type { NodeRedisLike, UpstashLike } from "./backends/clients";
export { RedisStoreLock, type RedisStoreLockOptions } from "./backends/redis-lock";
export { createServiceTokens, type ServiceTokens, type ServiceTokensOptions, type ServiceTokenLogger } from "./service-token";
export { clientCredentialsMinter, type ClientCredentialsConfig, type MintedToken, type Minter } from "./client-credentials";
export { ServiceTokenError, SERVICE_TOKEN_ERROR_CODES, type ServiceTokenErrorCode } from "./service-token-error";
export { parseServiceTokenEnv, type ServiceTokenEnv } from "./env";

/** A store on a node-redis client (`createClient({ url })` from `redis`, connected). */
export function createRedisTokenStore(client: NodeRedisLike, options: RedisTokenStoreOptions & { ownsClient?: boolean } = {}): RedisTokenStore {
  return new RedisTokenStore(nodeRedisScripts(client, options.ownsClient), options);
}

/** A store on an `@upstash/redis` client (`new Redis({ url, token })` or `Redis.fromEnv()`). */
export function createUpstashTokenStore(redis: UpstashLike, options: RedisTokenStoreOptions = {}): RedisTokenStore {
  return new RedisTokenStore(upstashScripts(redis), options);
}

/**
 * A store on a Vercel KV client (`kv` or `createClient()` from `@vercel/kv`). Vercel KV is
 * Upstash Redis under another name (its stores moved to Upstash, and `@vercel/kv` is deprecated),
 * so any object of that shape works, an `@upstash/redis` client included.
 */
export function createVercelKVTokenStore(kv: UpstashLike, options: RedisTokenStoreOptions = {}): RedisTokenStore {
  return new RedisTokenStore(upstashScripts(kv), options);
}

/** The StoreLock beside a Redis store: pass the store's node-redis client and prefix (the lock never closes the client). */
export function createRedisStoreLock(client: NodeRedisLike, options: RedisStoreLockOptions = {}): RedisStoreLock {
  return new RedisStoreLock(nodeRedisScripts(client), options);
}

/** The StoreLock beside an Upstash or Vercel KV store: same client, same prefix. */
export function createUpstashStoreLock(redis: UpstashLike, options: RedisStoreLockOptions = {}): RedisStoreLock {
  return new RedisStoreLock(upstashScripts(redis), options);
}

let current: TokenStore | undefined;

/** Sets the process's token store (an app wires it once at start-up). */
export function setTokenStore(store: TokenStore): void {
  current = store;
}

/** The process's token store, as set by setTokenStore. */
export function getTokenStore(): TokenStore {
  if (!current) throw new StorageError("connect", "CONFIGURATION", "no token store is set: call setTokenStore() at start-up");
  return current;
}
