// Bounded failure: while Redis is gone every call fails fast with UNAVAILABLE or TIMEOUT, and the
// same store works again once the server is back. A redis-server of the test's own is killed.
import { randomBytes } from "node:crypto";
import { ClientClosedError, ClientOfflineError, ConnectionTimeoutError, SocketClosedUnexpectedlyError, SocketTimeoutError, TimeoutError } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandDeadlineError, connectRedisTokenStore, redisEndpoint, type RedisTokenStore } from "../src/index";
import { toStorageError } from "../src/errors";
import { testVault } from "./conformance";
import { RedisServer, until } from "./redis-server";
import { timed } from "./timed-call";

const TIMEOUT_MS = 250;
/** Generously above the configured timeout, far below a hang. */
const BOUND_MS = 1_500;
const PASSWORD = `pw-${randomBytes(8).toString("hex")}`;
const vault = testVault();
const meta = (id: string) => ({ id, subject: "svc-outage", expiresAt: new Date(Date.now() + 10 * 60_000) });

/** Every operation of the store once, each timed. */
function everyOperation(store: RedisTokenStore): [string, () => Promise<unknown>][] {
  return [
    ["store", () => store.store(`tok-${randomBytes(4).toString("hex")}`, meta("during"))],
    ["get", () => store.get("tok-before")],
    ["getById", () => store.getById("before")],
    ["list", () => store.list("svc-outage")],
    ["revoke", () => store.revoke("tok-before")],
    ["isRevoked", () => store.isRevoked("tok-before")],
    ["delete", () => store.delete("tok-before")],
    ["cleanup", () => store.cleanup()],
  ];
}

describe("toStorageError and node-redis's errors", () => {
  it("maps lost connections to UNAVAILABLE and timeouts to TIMEOUT", () => {
    const cases: [Error, string][] = [
      [new ClientClosedError(), "UNAVAILABLE"],
      [new ClientOfflineError(), "UNAVAILABLE"],
      [new SocketClosedUnexpectedlyError(), "UNAVAILABLE"],
      [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "UNAVAILABLE"],
      [new TimeoutError(), "TIMEOUT"],
      [new ConnectionTimeoutError(), "TIMEOUT"],
      [new SocketTimeoutError(250), "TIMEOUT"],
      [new CommandDeadlineError(250), "TIMEOUT"],
    ];
    for (const [error, code] of cases) expect(`${error.constructor.name}: ${toStorageError("get", null, error).code}`).toBe(`${error.constructor.name}: ${code}`);
    expect(toStorageError("get", null, new TimeoutError()).detail).toBe("the backend did not answer in time");
  });

  it("names a Redis endpoint without its credentials", () => {
    expect(redisEndpoint("redis://user:s3cret@cache.internal:6380/2")).toBe("cache.internal:6380");
    expect(redisEndpoint("not a url s3cret")).toBe("redis");
  });
});

describe("a Redis token store when Redis goes away", () => {
  let server: RedisServer;
  let store: RedisTokenStore;
  const logged: string[] = [];

  beforeAll(async () => {
    server = await RedisServer.start({ password: PASSWORD });
    store = await connectRedisTokenStore(server.url, { vault, prefix: `outage:${randomBytes(4).toString("hex")}`, commandTimeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS, maxReconnectDelayMs: 200, log: (line) => logged.push(line) });
  });
  afterAll(async () => {
    await store?.close();
    await server?.dispose();
  });

  it("fails every call within the bound while the server is dead, then works again without a new store", async () => {
    await store.store("tok-before", meta("before"));
    expect((await store.get("tok-before"))?.id).toBe("before");

    const inFlight = timed(() => store.list("svc-outage"));
    await server.kill();
    const caught = await inFlight;
    expect(caught.ms).toBeLessThan(BOUND_MS);
    expect(["resolved", "UNAVAILABLE", "TIMEOUT"]).toContain(caught.code);

    const latencies: Record<string, number> = {};
    for (let round = 0; round < 2; round++) {
      for (const [op, call] of everyOperation(store)) {
        const { code, ms } = await timed(call);
        expect(`${op}: ${code}`).toMatch(/: (UNAVAILABLE|TIMEOUT)$/);
        expect(ms).toBeLessThan(BOUND_MS);
        latencies[op] = Math.max(latencies[op] ?? 0, ms);
      }
    }
    console.info(`calls while Redis was dead settled within (ms): ${JSON.stringify(latencies)}`);

    await server.restart();
    const recoveredIn = await until(5_000, async () => ((await timed(() => store.store("tok-after", meta("after")))).code === "resolved" ? true : undefined), "recovery");
    expect(recoveredIn).toBe(true);
    expect((await store.get("tok-after"))?.id).toBe("after");
    // The restarted server kept nothing (no persistence): what was stored before is gone.
    expect(await store.get("tok-before")).toBeNull();

    expect(logged.some((line) => line.includes("unreachable"))).toBe(true);
    expect(logged.some((line) => line.includes("reachable again"))).toBe(true);
    expect(logged.join("\n")).not.toContain(PASSWORD);
  });

  it("fails with TIMEOUT within the bound while the server is frozen, then works again", async () => {
    await store.store("tok-frozen", meta("frozen"));
    server.freeze();
    try {
      const latencies: Record<string, number> = {};
      for (const [op, call] of everyOperation(store)) {
        const { code, ms } = await timed(call);
        expect(`${op}: ${code}`).toBe(`${op}: TIMEOUT`);
        expect(ms).toBeLessThan(BOUND_MS);
        latencies[op] = ms;
      }
      console.info(`calls while Redis was frozen settled within (ms): ${JSON.stringify(latencies)}`);
    } finally {
      server.thaw();
    }
    await until(5_000, async () => ((await timed(() => store.get("tok-frozen"))).code === "resolved" ? true : undefined), "recovery");
    expect((await store.get("tok-frozen"))?.id).toBe("frozen");
  });
});

describe("connecting while Redis is away", () => {
  it("fails with UNAVAILABLE within the bound, or starts offline and connects when Redis comes", async () => {
    const server = await RedisServer.start();
    await server.kill();
    try {
      const refused = await timed(() => connectRedisTokenStore(server.url, { vault, log: () => {} }));
      expect(refused.code).toBe("UNAVAILABLE");
      expect(refused.ms).toBeLessThan(BOUND_MS);

      const store = await connectRedisTokenStore(server.url, { vault, prefix: `late:${randomBytes(4).toString("hex")}`, awaitConnection: false, maxReconnectDelayMs: 100, log: () => {} });
      try {
        expect((await timed(() => store.get("tok-late"))).code).toBe("UNAVAILABLE");
        await server.restart();
        await until(5_000, async () => ((await timed(() => store.store("tok-late", meta("late")))).code === "resolved" ? true : undefined), "first connection");
        expect((await store.get("tok-late"))?.id).toBe("late");
      } finally {
        await store.close();
      }
    } finally {
      await server.dispose();
    }
  });
});
