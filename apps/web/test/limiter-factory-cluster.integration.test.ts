import { RateLimiterRes } from "rate-limiter-flexible";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeLimiters, createLimiter, type LimiterBackend } from "~/server/limits/limiter-factory";
import { clusterUnavailable, RedisCluster } from "../../../packages/store/test/redis-cluster";

// The limiter factory on a Redis Cluster (TOKEN_STORE=redis, REDIS_CLUSTER_NODES): each counter is
// one key, so the counters spread over the masters and are shared by every limiter of a name.
if (clusterUnavailable) console.warn(`Redis Cluster limiter test skipped: ${clusterUnavailable}`);

describe.skipIf(clusterUnavailable)("limiter factory on a Redis Cluster (3 masters on loopback)", () => {
  let cluster: RedisCluster;
  let backend: LimiterBackend;
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    backend = { kind: "redis-cluster", nodes: cluster.urls.slice(0, 1) };
  }, 40_000);
  afterAll(async () => {
    await closeLimiters();
    await cluster?.stop();
  });

  it("counts in the cluster, shared across limiters, keys on every master; the limit holds", async () => {
    const spec = { name: "cluster-test", points: 3, durationSeconds: 60 };
    const [a, b] = [await createLimiter(spec, backend), await createLimiter(spec, backend)];
    for (let i = 0; i < 30; i++) await a.consume(`k${i}`);
    await a.consume("k0");
    expect((await b.get("k0"))?.consumedPoints).toBe(2);
    await b.consume("k0");
    await expect(a.consume("k0")).rejects.toBeInstanceOf(RateLimiterRes);
    const lines = (await cluster.dump("tokenvault:limit:cluster-test:*")).split("\n");
    // The refused fourth point was counted in the cluster too: no fallback to memory.
    expect(lines.filter((line) => line.endsWith(' tokenvault:limit:cluster-test:k0 "4"'))).toHaveLength(1);
    expect(lines).toHaveLength(30);
    expect(new Set(lines.map((line) => line.split(" ")[0])).size).toBe(3);
  });
});
