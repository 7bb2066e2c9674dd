// withFallback over a Redis store on a redis-server of the test's own, killed mid-run and restarted.
// The server keeps its data across the kill (append-only file), so what the fallback writes to Redis
// after the outage can be checked there, through a second store on its own connection.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectRedisTokenStore, StorageError, withFallback, type FallbackTokenStore, type TokenStore } from "../src/index";
import { TestClock, testVault } from "./conformance";
import { RedisServer, until } from "./redis-server";

const vault = testVault();
const namespace = `fallback-${randomBytes(4).toString("hex")}`;
const prefix = `fallback:${randomBytes(4).toString("hex")}`;
const MINUTE = 60_000;
const PROBE = "tokenvault-fallback-probe";

let server: RedisServer;
/** A second store on its own connection: what Redis holds, and what other processes do. */
let redis: TokenStore;
const open: FallbackTokenStore[] = [];

const meta = (id: string, subject: string, minutes = 10) => ({ id, subject, expiresAt: new Date(Date.now() + minutes * MINUTE) });
const connect = () => connectRedisTokenStore(server.url, { vault, namespace, prefix, maxReconnectDelayMs: 100, log: () => {} });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "resolved",
    (error: unknown) => (error instanceof StorageError ? error.code : `not a StorageError: ${String(error)}`),
  );
}

/** The primary's successful calls, in order, with the token (or id, subject) they were for. */
function recorded(store: TokenStore, calls: string[]): TokenStore {
  const log =
    <A extends unknown[], R>(op: string, call: (...args: A) => Promise<R>) =>
    async (...args: A) => {
      const result = await call(...args);
      if (args[0] !== PROBE) calls.push(`${op} ${String(args[0])}`);
      return result;
    };
  return {
    store: log("store", (token: string, metadata: Parameters<TokenStore["store"]>[1]) => store.store(token, metadata)),
    get: log("get", (token: string) => store.get(token)),
    getById: log("getById", (id: string) => store.getById(id)),
    delete: log("delete", (token: string) => store.delete(token)),
    list: log("list", (subject: string) => store.list(subject)),
    revoke: log("revoke", (token: string) => store.revoke(token)),
    isRevoked: log("isRevoked", (token: string) => store.isRevoked(token)),
    cleanup: () => store.cleanup(),
    close: () => store.close(),
  };
}

async function makeFallback(wrap: (primary: TokenStore) => TokenStore = (primary) => primary) {
  const calls: string[] = [];
  const states: boolean[] = [];
  const clock = new TestClock();
  const fallback = withFallback(wrap(recorded(await connect(), calls)), { vault, namespace, clock, probeIntervalMs: 50, onStateChange: (degraded) => states.push(degraded) });
  open.push(fallback);
  return { fallback, calls, states, clock };
}

/** Kills the server, runs `during`, restarts it, and waits until the fallback has recovered on its own. */
async function outage(fallback: FallbackTokenStore, during: () => Promise<void>): Promise<void> {
  await server.kill();
  try {
    await during();
  } finally {
    await server.restart();
  }
  await until(5_000, () => Promise.resolve(fallback.degraded ? undefined : true), "recovery without traffic");
}

beforeAll(async () => {
  server = await RedisServer.start({ persistent: true });
  redis = await connect();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});
afterAll(async () => {
  await redis?.close();
  await server?.dispose();
});

describe("withFallback while Redis is away", () => {
  it("serves what this process wrote or read within the window, never an expired token; an unknown token is UNAVAILABLE", async () => {
    const { fallback, states, clock } = await makeFallback();
    await fallback.store("tok-wrote", meta("wrote", "svc-1", 5));
    await redis.store("tok-read", meta("read", "svc-1", 3));
    await redis.store("tok-by-id", meta("by-id", "svc-1", 4));
    await redis.store("tok-short", meta("short", "svc-1", 0.5));
    await redis.store("tok-unknown", meta("unknown", "svc-1"));
    expect((await fallback.get("tok-read"))?.id).toBe("read");
    expect((await fallback.getById("by-id"))?.id).toBe("by-id");
    expect((await fallback.get("tok-short"))?.id).toBe("short");
    expect(fallback.degraded).toBe(false);

    await outage(fallback, async () => {
      expect((await fallback.get("tok-wrote"))?.id).toBe("wrote");
      expect(fallback.degraded).toBe(true);
      expect((await fallback.get("tok-read"))?.subject).toBe("svc-1");
      expect((await fallback.getById("by-id"))?.id).toBe("by-id");
      expect((await fallback.getById("wrote"))?.id).toBe("wrote");
      expect((await fallback.list("svc-1")).map((m) => m.id)).toEqual(["short", "read", "by-id", "wrote"]);
      expect(await fallback.isRevoked("tok-wrote")).toBe(false);
      expect(await codeOf(fallback.get("tok-unknown"))).toBe("UNAVAILABLE");
      expect(await codeOf(fallback.getById("unknown"))).toBe("UNAVAILABLE");
      expect(await codeOf(fallback.isRevoked("tok-unknown"))).toBe("UNAVAILABLE");
      expect(await codeOf(fallback.cleanup())).toBe("UNAVAILABLE");
      expect(await codeOf(fallback.get(""))).toBe("INVALID_INPUT");

      clock.advance(40_000); // past tok-short's expiry, within the 60 s window
      expect(await fallback.get("tok-short")).toBeNull();
      expect((await fallback.list("svc-1")).map((m) => m.id)).toEqual(["read", "by-id", "wrote"]);
      clock.advance(25_000); // past the window
      expect(await codeOf(fallback.get("tok-read"))).toBe("UNAVAILABLE");
      expect(await fallback.list("svc-1")).toEqual([]);
    });
    expect(states).toEqual([true, false]);
    expect((await fallback.get("tok-unknown"))?.id).toBe("unknown");
  });

  it("honours a revoke or delete at once, and writes them to Redis first when it returns, then the stores", async () => {
    const { fallback, calls } = await makeFallback();
    await fallback.store("tok-x", meta("x", "svc-2"));
    await fallback.store("tok-y", meta("y", "svc-2"));
    calls.length = 0;

    await outage(fallback, async () => {
      await fallback.store("tok-z", meta("z", "svc-2"));
      expect((await fallback.get("tok-z"))?.id).toBe("z");
      expect(await fallback.revoke("tok-x")).toBe(true);
      expect(await fallback.get("tok-x")).toBeNull();
      expect(await codeOf(fallback.getById("x"))).toBe("UNAVAILABLE");
      expect(await fallback.isRevoked("tok-x")).toBe(true);
      expect(await codeOf(fallback.store("tok-x", meta("x2", "svc-2")))).toBe("CONFLICT");
      expect(await fallback.delete("tok-y")).toBe(true);
      expect(await fallback.get("tok-y")).toBeNull();
      await fallback.store("tok-w", meta("w", "svc-2"));
      expect(await fallback.delete("tok-w")).toBe(true);
      expect((await fallback.list("svc-2")).map((m) => m.id)).toEqual(["z"]);
      expect(fallback.pendingWrites).toBe(4);
      expect(calls).toEqual([]);
    });

    expect(calls).toEqual(["revoke tok-x", "delete tok-y", "delete tok-w", "store tok-z"]);
    expect(fallback.pendingWrites).toBe(0);
    expect(await redis.get("tok-x")).toBeNull();
    expect(await redis.isRevoked("tok-x")).toBe(true);
    expect(await redis.get("tok-y")).toBeNull();
    expect(await redis.get("tok-w")).toBeNull();
    expect((await redis.get("tok-z"))?.id).toBe("z");
  });

  it("never serves a token revoked before the outage, here or elsewhere, by token or id", async () => {
    const { fallback } = await makeFallback();
    await fallback.store("tok-a", meta("a", "svc-3"));
    expect(await fallback.revoke("tok-a")).toBe(true);
    for (const token of ["tok-b1", "tok-b2", "tok-c"]) await redis.store(token, meta(token.slice(4), "svc-3"));
    expect((await fallback.get("tok-b1"))?.id).toBe("b1");
    expect((await fallback.get("tok-b2"))?.id).toBe("b2");
    expect((await fallback.list("svc-3")).map((m) => m.id).sort()).toEqual(["b1", "b2", "c"]);
    await redis.revoke("tok-b1"); // by another process: seen here on the next read
    await redis.revoke("tok-b2");
    expect(await fallback.get("tok-b1")).toBeNull();
    expect(await fallback.isRevoked("tok-b2")).toBe(true);
    // c was read here only by id (list), so revoking it by token forgets every such entry.
    expect(await fallback.revoke("tok-c")).toBe(true);

    await outage(fallback, async () => {
      expect(await fallback.get("tok-a")).toBeNull();
      expect(await fallback.isRevoked("tok-a")).toBe(true);
      expect(await codeOf(fallback.getById("a"))).toBe("UNAVAILABLE");
      expect(await fallback.get("tok-b1")).toBeNull(); // seen absent (revoked) in Redis before the outage
      expect(await fallback.get("tok-b2")).toBeNull();
      expect(await fallback.isRevoked("tok-b2")).toBe(true);
      expect(await codeOf(fallback.getById("c"))).toBe("UNAVAILABLE");
      expect(await fallback.list("svc-3")).toEqual([]);
    });
  });

  it("answers null for a token seen absent for removedWindowMs, and serves one first written during the outage until Redis has it", async () => {
    const clock = new TestClock();
    const fallback = withFallback(await connect(), { vault, namespace, clock, windowMs: 30_000, removedWindowMs: 10 * MINUTE, probeIntervalMs: 50 });
    open.push(fallback);
    await redis.store("tok-gone", meta("gone", "svc-6", 60));
    await redis.revoke("tok-gone");
    expect(await fallback.get("tok-gone")).toBeNull();
    expect(await fallback.get("tok-never")).toBeNull();
    await redis.store("tok-old", meta("old", "svc-6", 60));
    expect((await fallback.get("tok-old"))?.id).toBe("old");

    await outage(fallback, async () => {
      await fallback.store("tok-new", meta("new", "svc-6", 60));
      await fallback.store("tok-old", meta("old", "svc-6", 60)); // re-written here: known from Redis, so not new
      clock.advance(5 * MINUTE); // past the 30 s window, within removedWindowMs
      expect(await fallback.get("tok-gone")).toBeNull();
      expect(await fallback.get("tok-never")).toBeNull();
      expect(await fallback.isRevoked("tok-new")).toBe(false);
      expect((await fallback.get("tok-new"))?.id).toBe("new");
      expect((await fallback.getById("new"))?.id).toBe("new");
      expect((await fallback.list("svc-6")).map((m) => m.id)).toEqual(["new"]);
      expect(await codeOf(fallback.get("tok-old"))).toBe("UNAVAILABLE");
      clock.advance(6 * MINUTE); // past removedWindowMs
      expect(await codeOf(fallback.get("tok-never"))).toBe("UNAVAILABLE");
      expect(await fallback.revoke("tok-new")).toBe(true);
      expect(await fallback.get("tok-new")).toBeNull();
    });
    expect(await redis.get("tok-new")).toBeNull(); // revoked before it was written: never reaches Redis
  });

  it("does not remember a read that raced a revoke (its answer may predate the revocation)", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Reads of tok-race reach Redis at once but answer only when released: after the revoke.
    const { fallback } = await makeFallback((primary) => ({
      ...primary,
      get: async (token) => {
        const found = await primary.get(token);
        if (token === "tok-race") await gate;
        return found;
      },
    }));
    await redis.store("tok-race", meta("race", "svc-5"));
    const racing = fallback.get("tok-race");
    expect(await fallback.revoke("tok-race")).toBe(true);
    release();
    await racing;
    await outage(fallback, async () => {
      expect(await fallback.get("tok-race")).toBeNull();
      expect(await fallback.isRevoked("tok-race")).toBe(true);
    });
  });

  it("passes other errors through without degrading or caching", async () => {
    const { fallback, states } = await makeFallback();
    expect(await codeOf(fallback.store("tok-bad", meta("bad", "svc-4", -1)))).toBe("INVALID_INPUT");
    await fallback.store("tok-r", meta("r", "svc-4"));
    await fallback.revoke("tok-r");
    expect(await codeOf(fallback.store("tok-r", meta("r2", "svc-4")))).toBe("CONFLICT");
    await redis.store("tok-q", meta("q", "svc-4"));
    await redis.revoke("tok-q");
    expect(await codeOf(fallback.store("tok-q", meta("q2", "svc-4")))).toBe("CONFLICT");
    expect(fallback.degraded).toBe(false);
    expect(states).toEqual([]);
    await outage(fallback, async () => {
      expect(await codeOf(fallback.get("tok-q"))).toBe("UNAVAILABLE");
      expect(await codeOf(fallback.getById("q2"))).toBe("UNAVAILABLE");
    });
  });
});
