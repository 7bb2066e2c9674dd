// The Redis store, its lock and its connection on a 3-master Redis Cluster started by this file.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedisClusterTokenStore, StorageError, type RedisTokenStore } from "../src/index";
import { testVault, tokenStoreConformance } from "./conformance";
import { clusterUnavailable, RedisCluster } from "./redis-cluster";
import { until } from "./redis-server";

if (clusterUnavailable) console.warn(`Redis Cluster tests skipped: ${clusterUnavailable}`);

describe.skipIf(clusterUnavailable)("Redis Cluster (3 masters on loopback)", () => {
  let cluster: RedisCluster;
  const stores: RedisTokenStore[] = [];
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
  }, 40_000);
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await cluster?.stop();
  });

  const connect = async (options: Parameters<typeof connectRedisClusterTokenStore>[1]) => {
    const store = await connectRedisClusterTokenStore(cluster.urls, { log: () => {}, commandTimeoutMs: 1_000, connectTimeoutMs: 1_000, ...options });
    stores.push(store);
    return store;
  };

  tokenStoreConformance("Redis Cluster (node-redis createCluster)", async ({ vault, clock, namespace }) => {
    const prefix = `test:${randomBytes(6).toString("hex")}`;
    const store = await connect({ vault, clock, namespace, prefix });
    return { store, lock: store, dump: () => cluster.dump(`{${prefix}}:*`) };
  });

  // The Redis lock expires on Redis's clock (not the store's), as on one Redis: real time here.
  it("locks across two clients: one holder, expiry after the ttl, no release by a late holder", async () => {
    const prefix = `test:${randomBytes(6).toString("hex")}`;
    const [a, b] = [await connect({ vault: testVault(), prefix }), await connect({ vault: testVault(), prefix })];
    const contenders = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquire("job", 300)));
    const first = contenders.filter((owner) => owner !== null);
    expect(first).toHaveLength(1);
    expect(await b.acquire("other", 300)).toEqual(expect.any(String));
    await sleep(400);
    const second = await b.acquire("job", 10_000);
    expect(second).toEqual(expect.any(String));
    await a.release("job", first[0]!); // the late holder's release frees nothing
    expect(await a.acquire("job", 10_000)).toBeNull();
    await b.release("job", second!);
    expect(await a.acquire("job", 10_000)).toEqual(expect.any(String));
  });

  it("puts every key of a store in one hash slot, and spreads locks over the masters", async () => {
    const prefix = `test:${randomBytes(6).toString("hex")}`;
    const store = await connect({ vault: testVault(), prefix });
    for (let i = 0; i < 20; i++) {
      const token = `tok-${i}-${randomBytes(8).toString("hex")}`;
      await store.store(token, { id: `id-${i}`, subject: `subject-${i % 4}`, expiresAt: new Date(Date.now() + 60_000) });
      if (i % 5 === 0) await store.revoke(token);
    }
    const lines = (await cluster.dump(`{${prefix}}:*`)).split("\n");
    expect(lines.length).toBeGreaterThan(20);
    expect(new Set(lines.map((line) => line.split(" ")[0])).size).toBe(1); // one node holds them all
    const owners: string[] = [];
    for (let i = 0; i < 30; i++) owners.push(String(await store.acquire(`lock-${i}`, 10_000)));
    expect(owners.every((owner) => owner !== "null")).toBe(true);
    const lockNodes = new Set((await cluster.dump(`${prefix}:lock:*`)).split("\n").map((line) => line.split(" ")[0]));
    expect(lockNodes.size).toBe(3);
  });

  // Last: it kills a master. Calls fail in bounded time with a StorageError, none hangs.
  it("fails within the command deadline while the master holding the store's slot is gone, and recovers when it returns", async () => {
    const prefix = `test:${randomBytes(6).toString("hex")}`;
    const store = await connect({ vault: testVault(), prefix, commandTimeoutMs: 250 });
    await store.store("outage-token", { id: "outage-id", subject: "outage", expiresAt: new Date(Date.now() + 60_000) });
    const holder = (await cluster.dump(`{${prefix}}:*`)).split(" ")[0]!;
    await cluster.kill(holder);
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const error: unknown = await store.get("outage-token").then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect(["UNAVAILABLE", "TIMEOUT"]).toContain((error as StorageError).code);
      expect(Date.now() - started).toBeLessThan(1_000);
    }
    // Restarted without persistence it comes back empty: the store works again, with nothing in it.
    await cluster.restart(holder);
    await until(10_000, () => store.get("outage-token").then((found) => (found === null ? true : undefined), () => undefined), "the store answering again");
    await store.store("after-token", { id: "after-id", subject: "outage", expiresAt: new Date(Date.now() + 60_000) });
    expect((await store.get("after-token"))?.id).toBe("after-id");
  });
});
