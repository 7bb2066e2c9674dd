import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, it } from "vitest";
import { redisUrlForTests } from "../src/env";
import { createRedisTokenStore, InMemoryTokenStore } from "../src/index";
import { agreesWithModel } from "./property";

const REDIS_URL = redisUrlForTests();

describe("every backend agrees with the model on random operation sequences", () => {
  let redis: ReturnType<typeof createClient>;
  beforeAll(async () => {
    redis = createClient({ url: REDIS_URL });
    await redis.connect();
  });
  afterAll(async () => {
    // Property runs leave short-lived keys under their own prefix: remove them.
    for await (const keys of redis.scanIterator({ MATCH: "property:*", COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
    await redis.close();
  });

  it("memory", () => agreesWithModel(({ vault, clock, namespace }) => Promise.resolve(new InMemoryTokenStore({ vault, clock, namespace, sweepIntervalMs: 0 }))));

  it("Redis (node-redis)", () =>
    agreesWithModel(({ vault, clock, namespace }) =>
      Promise.resolve(createRedisTokenStore(redis, { vault, clock, namespace, prefix: `property:${randomBytes(6).toString("hex")}` })),
    ));
});
