// The conformance suite on Upstash and Vercel KV: the real `@upstash/redis` client over HTTP to
// the simulator's Upstash endpoint, which forwards to the real Redis (REDIS_URL, default
// 127.0.0.1:6379). Every store gets a fresh prefix; the keys are listed through node-redis for
// the canary test and deleted at the end.
import { createHash, randomBytes } from "node:crypto";
import { startSimulator, type Simulator } from "@tokenvault/simulator";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upstashScripts } from "../src/backends/clients";
import { createUpstashStoreLock, createUpstashTokenStore, createVercelKVTokenStore } from "../src/index";
import { tokenStoreConformance, type BackendUnderTest } from "./conformance";
import { REDIS_URL, RedisTestKeys } from "./redis-keys";

const TOKEN = `store-test-${randomBytes(8).toString("hex")}`;

let sim: Simulator;
const keys = new RedisTestKeys();

beforeAll(async () => {
  sim = await startSimulator({ upstash: { redisUrl: REDIS_URL, token: TOKEN } });
  await keys.connect();
});

afterAll(async () => {
  // Runs after every suite's own afterAll (which closes its stores).
  await keys.close();
  await sim.close();
});

/** An `@upstash/redis` client as apps make one: defaults kept (auto-pipelining, base64 replies, JSON deserialization). */
function upstashClient(): Redis {
  return new Redis({ url: sim.upstash!.url, token: sim.upstash!.token });
}

/**
 * What `createClient({ url, token })` from `@vercel/kv` returns. `@vercel/kv` is deprecated and
 * not a dependency: its client is a `VercelKV`, a subclass of `@upstash/redis`'s `Redis` that
 * only adds scan iterators, built with the config as given and telemetry off
 * (UPSTASH_DISABLE_TELEMETRY). So this is the same object minus the iterators, which the store
 * does not use. Its default export `kv` is such a client made from KV_REST_API_URL / _TOKEN.
 */
function createVercelKVClient(config: { url: string; token: string }): Redis {
  return new Redis({ ...config, enableTelemetry: false });
}

tokenStoreConformance("Upstash (@upstash/redis over REST)", ({ vault, clock, namespace }): Promise<BackendUnderTest> => {
  const prefix = keys.freshPrefix();
  const client = upstashClient();
  return Promise.resolve({ store: createUpstashTokenStore(client, { vault, clock, namespace, prefix }), lock: createUpstashStoreLock(client, { prefix }), dump: () => keys.dump(prefix) });
});

tokenStoreConformance("Vercel KV (@vercel/kv createClient shape)", ({ vault, clock, namespace }): Promise<BackendUnderTest> => {
  const prefix = keys.freshPrefix();
  const kv = createVercelKVClient({ url: sim.upstash!.url, token: sim.upstash!.token });
  return Promise.resolve({ store: createVercelKVTokenStore(kv, { vault, clock, namespace, prefix }), lock: createUpstashStoreLock(kv, { prefix }), dump: () => keys.dump(prefix) });
});

describe("Upstash client errors the Redis store relies on", () => {
  it("an unknown script SHA fails with NOSCRIPT in the message, so the store falls back to EVAL", async () => {
    // The scripts are usually cached in the shared Redis already, and flushing the cache would
    // disturb other runs on it; so the fallback's premise is checked on its own.
    const unknown = createHash("sha1").update(`never loaded ${randomBytes(8).toString("hex")}`).digest("hex");
    for (const client of [upstashClient(), new Redis({ url: sim.upstash!.url, token: sim.upstash!.token, enableAutoPipelining: false })]) {
      const error = await upstashScripts(client).evalSha(unknown, [], ["x"]).then(
        () => new Error("resolved"),
        (e: unknown) => e as Error,
      );
      expect(error.message).toMatch(/NOSCRIPT/);
    }
  });
});
