import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedisTokenStore, redisChanges, StorageError, StoreReadCache, withFallback, type ChangeFeed, type RedisTokenStore } from "@tokenvault/store";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { SessionCookieSealer } from "~/server/auth/session-cookie";
import { ServerSessions, sessionFallbackOptions, type Resolution } from "~/server/auth/server-sessions";
import { RedisServer, until } from "../../../packages/store/test/redis-server";

// The outage policy (docs/sessions.md), with a redis-server of the test's own killed mid-run
// and started again on the same port, and two app processes (two session services, each with
// its own in-process fallback) sharing it. The clock is the test's, so the window is exact.
const WINDOW_MS = 30_000;

describe("sessions through a Redis outage", () => {
  let server: RedisServer;
  let now = Date.now();
  const clock = { now: () => new Date(now) };
  const vault = new Vault(createKeyRing(randomBytes(32)));
  const sealer = new SessionCookieSealer(randomBytes(32).toString("base64url"));
  const prefix = `auth-outage:${randomBytes(4).toString("hex")}`;
  const primaries: RedisTokenStore[] = [];
  const feeds: ChangeFeed[] = [];

  async function appProcess(): Promise<ServerSessions> {
    const primary = await connectRedisTokenStore(server.url, { prefix, namespace: "auth", vault, clock, log: () => {} });
    primaries.push(primary);
    // As session.ts wires it.
    const store = withFallback(primary, { namespace: "auth", vault, clock, probeIntervalMs: 100, ...sessionFallbackOptions(WINDOW_MS) });
    // The read cache over it: bypassed while its subscriber is down (as it is through the outage).
    const changes = redisChanges(server.url, prefix, { log: () => {} });
    feeds.push(changes);
    await changes.start();
    const cache = new StoreReadCache(store, { namespace: "auth", vault, clock, changes });
    return new ServerSessions({ store, lock: primary, sealer, clock, cache });
  }
  const kind = (resolution: Resolution) => (resolution.kind === "none" ? `none:${resolution.reason}` : resolution.kind);
  const outcome = (call: Promise<Resolution>) =>
    call.then(kind, (error: unknown) => (error instanceof StorageError ? `error:${error.code === "TIMEOUT" ? "UNAVAILABLE" : error.code}` : `thrown: ${String(error)}`));

  beforeAll(async () => {
    server = await RedisServer.start({ persistent: true });
  });
  afterAll(async () => {
    for (const feed of feeds) await feed.close();
    for (const primary of primaries) await primary.close().catch(() => {});
    await server?.dispose();
  });

  it("keeps recent sessions, honours sign-outs at once and everywhere after, and recovers without a restart", async () => {
    const [p1, p2] = [await appProcess(), await appProcess()];
    const alice = await p1.start("alice", null);
    const bob = await p1.start("bob", null);
    const carol = await p1.start("carol", null);
    const dave = await p2.start("dave", null);
    for (const session of [alice, bob, carol]) expect(await outcome(p1.resolve(session.cookie.value, { rotate: true }))).toBe("active");
    await p1.end(carol.cookie.value); // ended here before the outage
    await p2.end(dave.cookie.value); // ended in the other process, never seen here

    await server.kill();
    // Validated within the window: served from this process's cache.
    expect(await outcome(p1.resolve(alice.cookie.value, { rotate: true }))).toBe("active");
    expect(await outcome(p1.resolve(bob.cookie.value, { rotate: true }))).toBe("active");
    // Ended before the outage: never accepted. Unknown here: cannot be checked, so refused (the API answers 503).
    expect(await outcome(p1.resolve(carol.cookie.value, { rotate: true }))).toBe("none:ended");
    expect(await outcome(p1.resolve(dave.cookie.value, { rotate: true }))).toBe("error:UNAVAILABLE");
    // A sign-out during the outage takes effect here at once.
    await p1.end(bob.cookie.value);
    expect(await outcome(p1.resolve(bob.cookie.value, { rotate: true }))).toBe("none:ended");
    // A sign-in during the outage is kept here and written when Redis returns.
    const erin = await p1.start("erin", null);
    expect(await outcome(p1.resolve(erin.cookie.value, { rotate: true }))).toBe("active");
    // Past the window, what was validated before the outage is no longer vouched for.
    now += WINDOW_MS + 1_000;
    expect(await outcome(p1.resolve(alice.cookie.value, { rotate: true }))).toBe("error:UNAVAILABLE");

    await server.restart();
    // No restart of either process: both reconnect; the sign-out and the sign-in made during the outage reach Redis.
    await until(10_000, async () => ((await outcome(p1.resolve(alice.cookie.value, { rotate: true }))) === "active" ? true : undefined), "p1 recovered");
    await until(10_000, async () => ((await outcome(p2.resolve(alice.cookie.value, { rotate: true }))) === "active" ? true : undefined), "p2 recovered");
    expect(await outcome(p2.resolve(bob.cookie.value, { rotate: true }))).toBe("none:ended");
    expect(await outcome(p2.resolve(carol.cookie.value, { rotate: true }))).toBe("none:ended");
    expect(await outcome(p1.resolve(dave.cookie.value, { rotate: true }))).toBe("none:ended");
    expect(await outcome(p2.resolve(erin.cookie.value, { rotate: true }))).toBe("active");
    expect((await p2.list("erin")).length).toBe(1);
  });

  it("answers 401 for a session known ended, however long ago, and keeps a sign-in made during the outage until Redis returns", async () => {
    const [p1, p2] = [await appProcess(), await appProcess()];
    const [frank, grace, heidi, ivan] = [await p1.start("frank", null), await p1.start("grace", null), await p2.start("heidi", null), await p1.start("ivan", null)];
    await p1.end(frank.cookie.value); // ended here long before the outage
    await p2.end(heidi.cookie.value);
    expect(await outcome(p1.resolve(heidi.cookie.value, { rotate: true }))).toBe("none:ended"); // seen ended here
    now += 10 * 60_000;
    await p1.end(grace.cookie.value); // ended here just before the outage
    expect(await outcome(p1.resolve(ivan.cookie.value, { rotate: true }))).toBe("active");

    await server.kill();
    const judy = await p1.start("judy", null); // signed in during the outage
    for (const session of [frank, grace, heidi]) expect(await outcome(p1.resolve(session.cookie.value, { rotate: true }))).toBe("none:ended");
    expect(await outcome(p1.resolve(judy.cookie.value, { rotate: true }))).toBe("active");
    expect(await outcome(p2.resolve(judy.cookie.value, { rotate: true }))).toBe("error:UNAVAILABLE"); // not known there
    now += WINDOW_MS + 1_000;
    for (const session of [frank, grace, heidi]) expect(await outcome(p1.resolve(session.cookie.value, { rotate: true }))).toBe("none:ended");
    expect(await outcome(p1.resolve(ivan.cookie.value, { rotate: true }))).toBe("error:UNAVAILABLE"); // no longer vouched for
    expect(await outcome(p1.resolve(judy.cookie.value, { rotate: true }))).toBe("active");
    // Its access token lapses during the outage: rotated here, and still served.
    now += 16 * 60_000;
    const rotated = await p1.resolve(judy.cookie.value, { rotate: true });
    expect(rotated.kind === "active" && rotated.cookie !== undefined).toBe(true);
    const judyCookie = rotated.kind === "active" ? rotated.cookie!.value : "";
    expect(await outcome(p1.resolve(judyCookie, { rotate: true }))).toBe("active");

    await server.restart();
    await until(10_000, async () => ((await outcome(p2.resolve(judyCookie, { rotate: true }))) === "active" ? true : undefined), "p2 sees the sign-in");
    expect(await outcome(p1.resolve(judyCookie, { rotate: true }))).toBe("active");
    expect(await outcome(p2.resolve(frank.cookie.value, { rotate: true }))).toBe("none:ended");
  });
});
