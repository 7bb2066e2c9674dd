import { RateLimiterMemory, RateLimiterPrisma, RateLimiterRedis, type RateLimiterAbstract } from "rate-limiter-flexible";
import { getDatabase } from "@tokenvault/db";
import { redisClientOptions, storeSettingsFromEnv } from "@tokenvault/store";

/** One limit: at most `points` per `durationSeconds`, counted under `keyPrefix`. */
export interface LimitSpec {
  keyPrefix: string;
  points: number;
  durationSeconds: number;
}

type RedisClient = Awaited<ReturnType<typeof connectRedis>>;
let redis: Promise<RedisClient> | undefined;

async function connectRedis(url: string) {
  const { createClient } = await import("redis");
  // Reconnects on its own (the store's strategy); while it is away the limiters use their in-memory insurance.
  const client = createClient(redisClientOptions(url));
  client.on("error", () => {});
  // Wait briefly for the first connection (counts go to Redis from the start), never for long:
  // a Redis that is down at start-up leaves the limiters on their insurance until it answers.
  const connecting = client.connect().then(() => undefined, () => undefined);
  await Promise.race([connecting, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  return client;
}

/**
 * A rate-limiter-flexible limiter on the backend TOKEN_STORE names, shared by every process:
 * Redis (REDIS_URL) with an in-memory limiter as insurance while Redis is unreachable; the app's
 * own database (embedded or PostgreSQL, the RateLimiterFlexible table) for `postgres` and
 * `upstash` (the library has no Upstash REST backend); process memory for `memory` (tests).
 */
export async function createLimiter(spec: LimitSpec): Promise<RateLimiterAbstract> {
  const options = { keyPrefix: spec.keyPrefix, points: spec.points, duration: spec.durationSeconds };
  const settings = storeSettingsFromEnv();
  switch (settings.backend) {
    case "memory":
      return new RateLimiterMemory(options);
    case "redis": {
      redis ??= connectRedis(settings.url);
      return new RateLimiterRedis({ ...options, storeClient: await redis, useRedisPackage: true, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) });
    }
    case "postgres":
    case "upstash":
      // The Prisma client's delegate for the model (prisma.rateLimiterFlexible).
      return new RateLimiterPrisma({ ...options, storeClient: (await getDatabase()).prisma, tableName: "rateLimiterFlexible" });
  }
}
