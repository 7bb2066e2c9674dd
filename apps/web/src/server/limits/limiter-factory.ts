import { RateLimiterMemory, RateLimiterPrisma, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { getDatabase } from "@tokenvault/db";
import { redisClientOptions, storeSettingsFromEnv, type StoreSettings } from "@tokenvault/store";

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
export type LimiterBackend = { kind: "memory" } | { kind: "database" } | { kind: "redis"; url: string };

/**
 * Follows the sessions: Redis when the token store is Redis (TOKEN_STORE=redis, REDIS_URL);
 * process memory for `memory` (tests, one process); otherwise (`postgres`, `upstash`, which the
 * library has no REST backend for) the app's database, so limits hold across processes.
 */
export function limiterBackend(settings: StoreSettings = storeSettingsFromEnv()): LimiterBackend {
  if (settings.backend === "memory") return { kind: "memory" };
  if (settings.backend === "redis") return { kind: "redis", url: settings.url };
  return { kind: "database" };
}

type RedisClient = Awaited<ReturnType<typeof connectRedis>>;
let redisClients = new Map<string, Promise<RedisClient>>();

async function connectRedis(url: string) {
  const { createClient } = await import("redis");
  // Reconnects on its own (the store's strategy); while it is away the limiters use their in-memory insurance.
  const client = createClient(redisClientOptions(url));
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
    case "redis": {
      let client = redisClients.get(backend.url);
      if (!client) redisClients.set(backend.url, (client = connectRedis(backend.url)));
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
