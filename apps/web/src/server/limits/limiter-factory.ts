import { RateLimiterMemory, RateLimiterPrisma, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { getDatabase } from "@tokenvault/db";
import { redisClientOptions, redisClusterOptions, storeSettingsFromEnv, type StoreSettings } from "@tokenvault/store";

/**
 * The app's one rate-limiter-flexible factory: every limit (checks and connects per user, failed
 * sign-ins per account and address) is built here, on one backend. Nothing here knows what is limited.
 */
export interface LimitSpec {
  /** Names the limit's keys in the backend (`tokenvault:limit:<name>:<key>`): one limit, one name. */
  name: string;
  points: number;
  durationSeconds: number;
}

/** Where counters live: the backend every process of the app shares. */
export type LimiterBackend = { kind: "memory" } | { kind: "database" } | { kind: "redis"; url: string } | { kind: "redis-cluster"; nodes: string[] };

/**
 * Follows the sessions: Redis when the token store is Redis (TOKEN_STORE=redis, REDIS_URL, or the
 * Redis Cluster of REDIS_CLUSTER_NODES: each counter is one key, so counters spread over its slots);
 * process memory for `memory` (tests, one process); otherwise (`postgres`, `upstash`, which the
 * library has no REST backend for) the app's database, so limits hold across processes.
 */
export function limiterBackend(settings: StoreSettings = storeSettingsFromEnv()): LimiterBackend {
  if (settings.backend === "memory") return { kind: "memory" };
  if (settings.backend === "redis") return "clusterNodes" in settings ? { kind: "redis-cluster", nodes: settings.clusterNodes } : { kind: "redis", url: settings.url };
  return { kind: "database" };
}

interface RedisClient {
  on(event: "error", listener: () => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
}
let redisClients = new Map<string, Promise<RedisClient>>();

/** One Redis (`url`) or a Redis Cluster (`nodes`); rate-limiter-flexible takes either node-redis client. */
async function connectRedis(backend: { url: string } | { nodes: string[] }): Promise<RedisClient> {
  const { createClient, createCluster } = await import("redis");
  // Reconnects on its own (the store's strategy); while it is away the limiters use their in-memory insurance.
  const client: RedisClient = "url" in backend ? createClient(redisClientOptions(backend.url)) : createCluster(redisClusterOptions(backend.nodes));
  // Without a listener a connection error would crash the process; the insurance limiter covers it.
  client.on("error", () => {});
  // Wait briefly for the first connection (counts go to Redis from the start), never for long:
  // a Redis that is down at start-up leaves the limiters on their insurance until it answers.
  const connecting = client.connect().then(() => undefined, () => undefined);
  await Promise.race([connecting, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  return client;
}

export async function createLimiter(spec: LimitSpec, backend: LimiterBackend = limiterBackend()): Promise<RateLimiterAbstract> {
  const options = { keyPrefix: `tokenvault:limit:${spec.name}`, points: spec.points, duration: spec.durationSeconds };
  switch (backend.kind) {
    case "memory":
      return new RateLimiterMemory(options);
    case "redis":
    case "redis-cluster": {
      const id = backend.kind === "redis" ? backend.url : backend.nodes.join(",");
      let client = redisClients.get(id);
      if (!client) redisClients.set(id, (client = connectRedis(backend)));
      // While Redis is unreachable each process limits on its own: neither unlimited nor failing every request.
      return new RateLimiterRedis({ ...options, storeClient: await client, useRedisPackage: true, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) });
    }
    case "database":
      // The Prisma client's delegate for the model (prisma.rateLimiterFlexible); closed with the database.
      return new RateLimiterPrisma({ ...options, storeClient: (await getDatabase()).prisma, tableName: "rateLimiterFlexible" });
  }
}

/** Closes the limiters' Redis clients (shutdown, tests); the database closes with the app's. */
export async function closeLimiters(): Promise<void> {
  const clients = [...redisClients.values()];
  redisClients = new Map();
  await Promise.all(clients.map(async (c) => (await c).close().catch(() => undefined)));
}

/** No point left for this key: wait `retryAfterSec`. */
export class LimitExceeded extends Error {
  override readonly name = "LimitExceeded";
  constructor(readonly retryAfterSec: number) {
    super(`limit exceeded; retry after ${retryAfterSec} s`);
  }
}

/** Whole seconds until the limiter gives a point back (at least 1). */
export const secondsToWait = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/** Takes one point for `key`, or throws LimitExceeded. Store failures (with no insurance left) propagate. */
export async function takePoint(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) throw new LimitExceeded(secondsToWait(rejection));
    throw rejection;
  }
}
