// Network faults between the Redis token store and a healthy redis-server of the test's own: a TCP
// proxy in between cuts, black-holes or slows the connection. Calls fail with a typed error
// (UNAVAILABLE or TIMEOUT) within the bound, never hang, never answer with another call's reply,
// and the same store works again, with nothing lost, once the network is back.
import { randomBytes } from "node:crypto";
import { TcpProxy } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedisTokenStore, type RedisTokenStore } from "../src/index";
import { testVault } from "./conformance";
import { RedisServer, until } from "./redis-server";
import { timed } from "./timed-call";

const TIMEOUT_MS = 250;
/** Generously above the configured timeout, far below a hang. */
const BOUND_MS = 1_500;
const vault = testVault();
const meta = (id: string) => ({ id, subject: "svc-network", expiresAt: new Date(Date.now() + 10 * 60_000) });

describe("a Redis token store behind a faulty network", () => {
  let server: RedisServer;
  let proxy: TcpProxy;
  let store: RedisTokenStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    proxy = await TcpProxy.start({ targetHost: "127.0.0.1", targetPort: server.port });
    store = await connectRedisTokenStore(proxy.urlFor(server.url), {
      vault,
      prefix: `network:${randomBytes(4).toString("hex")}`,
      commandTimeoutMs: TIMEOUT_MS,
      connectTimeoutMs: TIMEOUT_MS,
      maxReconnectDelayMs: 200,
      log: () => {},
    });
    for (const id of ["a", "b", "c"]) await store.store(`tok-${id}`, meta(id));
  });
  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    await server?.dispose();
  });

  const recovered = () => until(5_000, async () => ((await timed(() => store.get("tok-a"))).code === "resolved" ? true : undefined), "recovery");

  it("connections cut while Redis stays up: UNAVAILABLE within the bound at most, then the same data", async () => {
    proxy.cutAll();
    const first = await timed(() => store.get("tok-a"));
    expect(["resolved", "UNAVAILABLE"]).toContain(first.code);
    expect(first.ms).toBeLessThan(BOUND_MS);
    await recovered();
    expect((await store.get("tok-b"))?.id).toBe("b");
  });

  it("a black-holed network: TIMEOUT within the bound, then works again", async () => {
    proxy.setMode("blackhole");
    try {
      for (const [op, call] of [
        ["get", () => store.get("tok-a")],
        ["store", () => store.store("tok-d", meta("d"))],
        ["list", () => store.list("svc-network")],
      ] as const) {
        const { code, ms } = await timed(call);
        expect(`${op}: ${code}`).toMatch(/: (TIMEOUT|UNAVAILABLE)$/);
        expect(ms).toBeLessThan(BOUND_MS);
      }
    } finally {
      proxy.restore();
    }
    proxy.cutAll(); // connections accepted while black-holed never reach Redis
    await recovered();
    expect((await store.get("tok-c"))?.id).toBe("c");
  });

  it("a network slower than the command timeout: TIMEOUT; late replies are never taken for later calls' answers", async () => {
    proxy.setDelay(2 * TIMEOUT_MS);
    try {
      for (const id of ["a", "b", "c"]) {
        const { code, ms } = await timed(() => store.get(`tok-${id}`));
        expect(code).toBe("TIMEOUT");
        expect(ms).toBeLessThan(BOUND_MS);
      }
    } finally {
      proxy.setDelay(0);
    }
    // The replies to the timed-out calls arrive now: each later call must get its own answer.
    await recovered();
    for (let round = 0; round < 3; round++) {
      const found = await Promise.all(["a", "b", "c"].map(async (id) => (await store.get(`tok-${id}`))?.id ?? null));
      expect(found).toEqual(["a", "b", "c"]);
    }
  });

  it("a network slower than usual but within the timeout: every call answers", async () => {
    proxy.setDelay(TIMEOUT_MS / 5);
    try {
      expect((await store.get("tok-a"))?.id).toBe("a");
      await store.store("tok-slow", meta("slow"));
      expect((await store.get("tok-slow"))?.id).toBe("slow");
    } finally {
      proxy.setDelay(0);
    }
  });
});
