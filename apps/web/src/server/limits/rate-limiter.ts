import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { createClient } from "redis";

/**
 * A generic limiter factory on rate-limiter-flexible: `points` actions per `durationSec` per key.
 * Nothing here knows what is limited; request-limits.ts (checks, connects) and any other limit
 * (sign-in attempts, say) build on it.
 */
export interface LimitRule {
  /** Names the limiter's keys in the store: one rule, one prefix. */
  name: string;
  points: number;
  durationSec: number;
}

/** Where counters live: Redis (shared by every process) or this process's memory. */
export type LimiterStore = { kind: "memory" } | { kind: "redis"; client: ReturnType<typeof createClient> };

export function createRateLimiter(rule: LimitRule, store: LimiterStore): RateLimiterAbstract {
  const options = { keyPrefix: `tokenvault:limit:${rule.name}`, points: rule.points, duration: rule.durationSec };
  const memory = new RateLimiterMemory(options);
  if (store.kind === "memory") return memory;
  // While Redis is unreachable each process limits on its own: neither unlimited nor failing every request.
  return new RateLimiterRedis({ ...options, storeClient: store.client, useRedisPackage: true, rejectIfRedisNotReady: true, insuranceLimiter: memory });
}

/** No point left for this key: wait `retryAfterSec`. */
export class LimitExceeded extends Error {
  override readonly name = "LimitExceeded";
  constructor(readonly retryAfterSec: number) {
    super(`limit exceeded; retry after ${retryAfterSec} s`);
  }
}

/** Takes one point for `key`, or throws LimitExceeded. Store failures (with no insurance left) propagate. */
export async function takePoint(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) throw new LimitExceeded(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
    throw rejection;
  }
}

let redisClients = new Map<string, ReturnType<typeof createClient>>();

/**
 * One Redis client per URL for the process, connecting in the background (until it is ready the
 * limiters use their in-memory insurance). Wiring only.
 */
export function redisLimiterStore(url: string): LimiterStore {
  let client = redisClients.get(url);
  if (!client) {
    client = createClient({ url, socket: { reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000), connectTimeout: 2_000 } });
    // Without a listener a connection error would crash the process; the insurance limiter covers it.
    client.on("error", () => undefined);
    client.connect().catch(() => undefined);
    redisClients.set(url, client);
  }
  return { kind: "redis", client };
}

/** Closes the process's limiter clients (tests, shutdown). */
export async function closeLimiterStores(): Promise<void> {
  const clients = [...redisClients.values()];
  redisClients = new Map();
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
}
