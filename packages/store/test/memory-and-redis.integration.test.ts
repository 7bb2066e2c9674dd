import { createClient } from "redis";
import { afterAll, beforeAll } from "vitest";
import { createRedisStoreLock, createRedisTokenStore, InMemoryTokenStore } from "../src/index";
import { tokenStoreConformance } from "./conformance";
import { REDIS_URL, RedisTestKeys } from "./redis-keys";

const keys = new RedisTestKeys();
beforeAll(() => keys.connect());
afterAll(() => keys.close());

tokenStoreConformance("memory", ({ vault, clock, namespace }) => {
  const store = new InMemoryTokenStore({ vault, clock, namespace, sweepIntervalMs: 0 });
  return Promise.resolve({ store, lock: store });
});

tokenStoreConformance("Redis (node-redis)", async ({ vault, clock, namespace }) => {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  const prefix = keys.freshPrefix();
  const reopen = (rotated: typeof vault) => Promise.resolve(createRedisTokenStore(client, { vault: rotated, clock, namespace, prefix }));
  return { store: createRedisTokenStore(client, { vault, clock, namespace, prefix, ownsClient: true }), lock: createRedisStoreLock(client, { prefix }), dump: () => keys.dump(prefix), reopen };
});
