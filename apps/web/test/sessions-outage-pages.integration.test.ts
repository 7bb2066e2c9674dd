import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { RedisServer, until } from "../../../packages/store/test/redis-server";
import { queryInput, signInOverHttp } from "./http-app";
import { startProductionServer, type RunningServer } from "./next-server";

// Pages and the API of two production processes (`next start`) sharing a database and, for
// sessions, a redis-server of the test's own (persistent, so sessions outlive its restart), killed
// mid-run: a page answers what the API answers, from one fallback cache per process.
describe("pages and the API through a Redis outage, two production processes", () => {
  let redis: RedisServer;
  let database: TestDatabase;
  const servers: RunningServer[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start({ persistent: true });
    database = await createTestDatabase("web-sessions-outage-pages");
    const env = {
      DATABASE_URL: database.url,
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
      SESSION_SECRET: randomBytes(32).toString("base64url"),
      SESSION_COOKIE_SECURE: "0",
      TOKENVAULT_DEMO_USERS: "1",
      TOKEN_STORE: "redis",
      REDIS_URL: redis.url,
    };
    for (let i = 0; i < 2; i++) servers.push(await startProductionServer((url) => ({ ...env, APP_URL: url })));
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await redis?.dispose();
    await database?.drop();
  });

  const page = (server: RunningServer, cookie: string) => fetch(`${server.url}/connections`, { headers: { cookie }, redirect: "manual" });
  const api = (server: RunningServer, cookie: string) => fetch(`${server.url}/api/trpc/connection.list?${queryInput(undefined)}`, { headers: { cookie } });

  it("answers a page 503 with a clear page where the API answers 503, and 200 for a session the process vouches for", async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const alice = await signInOverHttp(a.url, "alice"); // a's sessions built by a route handler
    expect((await page(b, alice)).status).toBe(200); // b's built by a page (the proxy) first
    const bob = await signInOverHttp(b.url, "bob"); // never seen by a
    const carol = await signInOverHttp(a.url, "carol"); // never seen by b

    await redis.kill();
    // What a process learnt through a route handler, its pages know, and the other way round: one cache, one answer.
    expect((await page(a, alice)).status).toBe(200);
    expect((await api(a, alice)).status).toBe(200);
    expect((await api(b, alice)).status).toBe(200);
    expect((await page(b, bob)).status).toBe(200);
    // A session a process cannot check: 503 from the page (a page that says so) and from the API, on both.
    for (const [server, cookie] of [[a, bob], [b, carol]] as const) {
      const refused = await page(server, cookie);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("content-type")).toMatch(/^text\/html/);
      expect(refused.headers.get("retry-after")).toBe("5");
      expect(await refused.text()).toContain("The session store is not answering");
      const apiRefused = await api(server, cookie);
      expect(apiRefused.status).toBe(503);
      expect(((await apiRefused.json()) as { error: { json: { data: { code: string } } } }).error.json.data.code).toBe("SERVICE_UNAVAILABLE");
    }
    // A public page needs no session: it is served.
    expect((await fetch(`${a.url}/sign-in`, { headers: { cookie: bob } })).status).toBe(200);

    await redis.restart();
    // Each process finds Redis again on its own reconnect schedule: b may come back after a.
    await Promise.all([
      until(15_000, async () => ((await page(a, bob)).status === 200 ? true : undefined), "a's page for bob once Redis is back"),
      until(15_000, async () => ((await api(b, carol)).status === 200 ? true : undefined), "b's API for carol once Redis is back"),
    ]);
  });
});
