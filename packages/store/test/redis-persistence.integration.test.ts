// The warning an operator gets when the store connects to a Redis that keeps nothing on disk
// (a restart then signs everyone out): on redis-servers of the test's own, one without
// persistence, one with an append-only file.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { connectRedisTokenStore } from "../src/index";
import { testVault } from "./conformance";
import { RedisServer } from "./redis-server";

const servers: RedisServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.dispose();
});

async function connectAndLog(persistent: boolean): Promise<string[]> {
  const server = await RedisServer.start({ persistent });
  servers.push(server);
  const logged: string[] = [];
  const store = await connectRedisTokenStore(server.url, { vault: testVault(), namespace: "persistence", prefix: `persistence:${randomBytes(4).toString("hex")}`, log: (message) => logged.push(message) });
  await store.close();
  return logged;
}

describe("connecting to Redis", () => {
  it("warns when the server reports persistence off, naming what to turn on", async () => {
    const logged = await connectAndLog(false);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^token store: Redis at 127\.0\.0\.1:\d+ reports persistence off .*a restart of Redis loses every stored token and sign-in session .*appendonly yes/);
  });

  it("says nothing when the server keeps an append-only file", async () => {
    expect(await connectAndLog(true)).toEqual([]);
  });
});
