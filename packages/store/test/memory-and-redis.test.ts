import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { redisUrlForTests } from "../src/env";
import { createRedisTokenStore, InMemoryTokenStore } from "../src/index";
import { tokenStoreConformance } from "./conformance";

const REDIS_URL = redisUrlForTests();

tokenStoreConformance("memory", ({ vault, clock, namespace }) => Promise.resolve({ store: new InMemoryTokenStore({ vault, clock, namespace, sweepIntervalMs: 0 }) }));

tokenStoreConformance("Redis (node-redis)", async ({ vault, clock, namespace }) => {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  // A fresh prefix per run: runs and stores sharing this Redis never meet.
  const prefix = `test:${randomBytes(6).toString("hex")}`;
  return {
    store: createRedisTokenStore(client, { vault, clock, namespace, prefix, ownsClient: true }),
    dump: async () => {
      const dump = createClient({ url: REDIS_URL });
      await dump.connect();
      try {
        const lines: string[] = [];
        for await (const keys of dump.scanIterator({ MATCH: `${prefix}:*`, COUNT: 100 })) {
          for (const key of keys) {
            const type = await dump.type(key);
            const value = type === "hash" ? await dump.hGetAll(key) : type === "zset" ? await dump.zRangeWithScores(key, 0, -1) : await dump.get(key);
            lines.push(`${key} ${JSON.stringify(value)}`);
          }
        }
        return lines.join("\n");
      } finally {
        await dump.close();
      }
    },
  };
});
