import { createClient } from "redis";
import { RateLimiterRes } from "rate-limiter-flexible";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { closeLimiters as CloseLimiters, createLimiter as CreateLimiter } from "~/server/limits/limiter-factory";
import { RedisServer, until } from "../../../packages/store/test/redis-server";

// The limiter factory on Redis (TOKEN_STORE=redis): counts live in Redis, shared by every
// limiter on the same prefix; while Redis is down the in-memory insurance keeps limiting; when
// it is back, Redis counts again. A redis-server of the test's own is killed and restarted.
describe("limiter factory on Redis", () => {
  let server: RedisServer;
  let createLimiter: typeof CreateLimiter;
  let closeLimiters: typeof CloseLimiters;

  beforeAll(async () => {
    server = await RedisServer.start();
    // This file's worker only: the store settings are read on first use, after this.
    Object.assign(process.env, { TOKEN_STORE: "redis", REDIS_URL: server.url });
    ({ createLimiter, closeLimiters } = await import("~/server/limits/limiter-factory"));
  });
  afterAll(async () => {
    await closeLimiters?.();
    await server?.dispose();
  });

  it("counts in Redis, shared across limiters; limits from memory during an outage; back on Redis after", async () => {
    const spec = { name: "factory-test", points: 3, durationSeconds: 60 };
    const [a, b] = [await createLimiter(spec), await createLimiter(spec)];
    await a.consume("k1");
    await a.consume("k1");
    expect((await b.get("k1"))?.consumedPoints).toBe(2);
    const raw = createClient({ url: server.url });
    await raw.connect();
    expect(await raw.get("tokenvault:limit:factory-test:k1")).toBe("2");
    await raw.close();

    await server.kill();
    for (let i = 0; i < 3; i++) await a.consume("k2");
    await expect(a.consume("k2")).rejects.toBeInstanceOf(RateLimiterRes);

    await server.restart();
    const check = createClient({ url: server.url });
    await check.connect();
    let probe = 0;
    // Counting reaches Redis again once the limiters' client has reconnected (no restart of anything).
    await until(10_000, async () => {
      const key = `probe-${probe++}`;
      await a.consume(key).catch(() => undefined);
      return (await check.get(`tokenvault:limit:factory-test:${key}`)) === "1" ? true : undefined;
    }, "counting in Redis again");
    await b.consume("k3");
    expect(await check.get("tokenvault:limit:factory-test:k3")).toBe("1");
    await check.close();
  });
});
