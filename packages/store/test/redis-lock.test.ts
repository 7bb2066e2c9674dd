import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStoreLock, StorageError, type StoreLock } from "../src/index";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const connect = () => createClient({ url: REDIS_URL }).connect();
type Client = Awaited<ReturnType<typeof connect>>;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "resolved",
    (error: unknown) => (error instanceof StorageError ? error.code : `not a StorageError: ${String(error)}`),
  );
}

describe("RedisStoreLock (real Redis)", () => {
  const clients: Client[] = [];
  // A fresh prefix per run: runs sharing this Redis never meet.
  const prefix = `test:${randomBytes(6).toString("hex")}`;
  let a: StoreLock;
  let b: StoreLock;
  let inspect: Client;

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) clients.push(await connect());
    [a, b] = [createRedisStoreLock(clients[0]!, { prefix }), createRedisStoreLock(clients[1]!, { prefix })];
    inspect = clients[2]!;
  });
  afterAll(async () => {
    for await (const keys of inspect.scanIterator({ MATCH: `${prefix}:*` })) if (keys.length > 0) await inspect.del(keys);
    await Promise.all(clients.map((c) => c.close()));
  });

  it("is held by one owner at a time, across connections, until released by that owner", async () => {
    const owner = await a.acquire("mint:one", 10_000);
    expect(owner).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await b.acquire("mint:one", 10_000)).toBeNull();
    expect(await a.acquire("mint:one", 10_000)).toBeNull();
    expect(await b.acquire("mint:other", 10_000)).not.toBeNull();
    await b.release("mint:one", "not-the-owner");
    expect(await b.acquire("mint:one", 10_000)).toBeNull();
    await a.release("mint:one", owner!);
    expect(await b.acquire("mint:one", 10_000)).not.toBeNull();
  });

  it("lives under the prefix with Redis's own expiry (SET NX PX)", async () => {
    const owner = await a.acquire("mint:ttl", 5_000);
    expect(await inspect.get(`${prefix}:lock:mint:ttl`)).toBe(owner);
    const pttl = await inspect.pTTL(`${prefix}:lock:mint:ttl`);
    expect(pttl).toBeGreaterThan(4_000);
    expect(pttl).toBeLessThanOrEqual(5_000);
  });

  it("expires after its ttl; the late holder's release then leaves the new holder's lock alone", async () => {
    const late = await a.acquire("mint:expiry", 100);
    expect(late).not.toBeNull();
    await sleep(150);
    const fresh = await b.acquire("mint:expiry", 10_000);
    expect(fresh).not.toBeNull();
    await a.release("mint:expiry", late!);
    expect(await inspect.get(`${prefix}:lock:mint:expiry`)).toBe(fresh);
    expect(await a.acquire("mint:expiry", 10_000)).toBeNull();
  });

  it("gives exactly one of many concurrent callers the lock", async () => {
    const owners = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).acquire("mint:race", 10_000)));
    expect(owners.filter((o) => o !== null)).toHaveLength(1);
  });

  it("refuses bad names and ttls with INVALID_INPUT, touching nothing", async () => {
    expect(await codeOf(a.acquire("", 1_000))).toBe("INVALID_INPUT");
    // The bounds every backend shares (lock-input.ts, asserted in the conformance suite).
    expect(await codeOf(a.acquire("x".repeat(257), 1_000))).toBe("INVALID_INPUT");
    expect(await codeOf(a.acquire("mint:bad", 0))).toBe("INVALID_INPUT");
    expect(await codeOf(a.acquire("mint:bad", 1.5))).toBe("INVALID_INPUT");
    expect(await codeOf(a.acquire("mint:bad", 24 * 3_600_000 + 1))).toBe("INVALID_INPUT");
    expect(await codeOf(a.release("mint:bad", ""))).toBe("INVALID_INPUT");
    expect(await inspect.exists(`${prefix}:lock:mint:bad`)).toBe(0);
  });

  it("maps a lost connection to a StorageError", async () => {
    const closed = await connect();
    const lock = createRedisStoreLock(closed, { prefix });
    await closed.close();
    const error = await lock.acquire("mint:closed", 1_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).op).toBe("lock");
    expect((error as StorageError).code).toBe("UNAVAILABLE");
  });
});
