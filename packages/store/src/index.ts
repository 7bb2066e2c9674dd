// @tokenvault/store: a store for the tokens a service issues or receives for itself.
import type { PrismaClient } from "@tokenvault/db";
import { nodeRedisScripts, upstashScripts, type NodeRedisLike, type UpstashLike } from "./backends/clients";
import { PostgresTokenStore, type PostgresTokenStoreOptions } from "./backends/postgres-store";
import { RedisStoreLock, type RedisStoreLockOptions } from "./backends/redis-lock";
import { RedisTokenStore, type RedisTokenStoreOptions } from "./backends/redis-store";

export type { Json, NewTokenMetadata, StoreLock, TokenMetadata, TokenStore } from "./types";
export { isStoreUnavailable, StorageError, STORAGE_ERROR_CODES, type StorageErrorCode, type StorageOperation } from "./errors";
export { systemClock, type Clock } from "./clock";
export { createTokenStoreFromEnv, type StoreFromEnvOptions, getServiceToken, getTokenStore, LazyTokenStore, setTokenStore } from "./default-store";
export { storeSettingsFromEnv, type StoreSettings } from "./env";
export type { StoreOptions } from "./options";
export { LIMITS } from "./codec";
export { InMemoryTokenStore, type InMemoryTokenStoreOptions } from "./backends/memory-store";
export { RedisTokenStore, type RedisTokenStoreOptions } from "./backends/redis-store";
export type { NodeRedisLike, ScriptClient, UpstashLike } from "./backends/clients";
export { PostgresTokenStore, type PostgresTokenStoreOptions } from "./backends/postgres-store";
export { LOCK_LIMITS } from "./lock-input";
export { withFallback, FallbackTokenStore, type FallbackOptions } from "./fallback";
export { StoreMetrics, withStoreMetrics } from "./store-metrics";
export { ChangeFeed, type ChangeFeedOptions, type ChangeObserver } from "./changes/change-feed";
export { postgresChanges, STORE_CHANNEL } from "./changes/postgres-changes";
export { redisChanges } from "./changes/redis-changes";
export { StoreReadCache, type StoreReadCacheOptions } from "./changes/read-cache";
export { connectRedisTokenStore, redisClientOptions, reconnectDelay, withCommandDeadline, watchRedisClient, redisEndpoint, CommandDeadlineError, type RedisConnectionOptions } from "./backends/redis-connection";
export { connectRedisClusterTokenStore, redisClusterOptions } from "./backends/redis-cluster-connection";
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

/**
 * A store on PostgreSQL (or the embedded PGlite) through the app's Prisma client, e.g.
 * `(await getDatabase()).prisma` from `@tokenvault/db`; the tables come with its migrations.
 * The client stays open on close() unless `ownsClient` is set.
 */
export function createPostgresTokenStore(prisma: PrismaClient, options: PostgresTokenStoreOptions = {}): PostgresTokenStore {
  return new PostgresTokenStore(prisma, options);
}

/** The StoreLock beside a Redis store: pass the store's node-redis client and prefix (the lock never closes the client). */
export function createRedisStoreLock(client: NodeRedisLike, options: RedisStoreLockOptions = {}): RedisStoreLock {
  return new RedisStoreLock(nodeRedisScripts(client), options);
}

/** The StoreLock beside an Upstash or Vercel KV store: same client, same prefix. */
export function createUpstashStoreLock(redis: UpstashLike, options: RedisStoreLockOptions = {}): RedisStoreLock {
  return new RedisStoreLock(upstashScripts(redis), options);
}
