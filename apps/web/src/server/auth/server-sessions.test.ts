import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { InMemoryTokenStore, StoreReadCache, type TokenStore } from "@tokenvault/store";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { SessionCookieSealer } from "./session-cookie";
import { ServerSessions, type Resolution } from "./server-sessions";

// The session algorithm on the memory store with a clock the test moves (the backends are the
// store's conformance suite's business; test/sessions-store.integration.test.ts runs this on Redis and PostgreSQL).
const MINUTE = 60_000;

function setup({ cached = false } = {}) {
  let now = Date.parse("2026-12-02T10:00:00Z");
  const clock = { now: () => new Date(now) };
  const vault = new Vault(createKeyRing(randomBytes(32)));
  const store = new InMemoryTokenStore({ vault, clock, sweepIntervalMs: 0 });
  // Counts the reads that reach the store.
  const reads = { count: 0 };
  const counted: TokenStore = Object.create(store) as TokenStore;
  counted.get = (token) => (reads.count++, store.get(token));
  // One process owns the memory store: its own writes keep the cache exact (no feed).
  const cache = cached ? new StoreReadCache(counted, { vault, clock, changes: null }) : undefined;
  const sessions = new ServerSessions({ store: counted, lock: store, sealer: new SessionCookieSealer(randomBytes(32).toString("base64url")), clock, cache });
  return { sessions, store, reads, advance: (ms: number) => (now += ms) };
}

const active = (resolution: Resolution) => (resolution.kind === "active" ? resolution : null);

describe("server-side sessions", () => {
  it("resolves a new session's cookie to its user, without rotating while the access token lives", async () => {
    const { sessions, advance } = setup();
    const { cookie, session } = await sessions.start("alice", "Mozilla/5.0 Firefox/140.0");
    const first = active(await sessions.resolve(cookie.value, { rotate: true }));
    expect(first?.session).toMatchObject({ userId: "alice", handle: session.handle, userAgent: "Mozilla/5.0 Firefox/140.0" });
    expect(first?.cookie).toBeUndefined();
    // Active every 10 minutes for an hour: the access token is renewed silently, never rotated.
    for (let i = 0; i < 6; i++) {
      advance(10 * MINUTE);
      const again = active(await sessions.resolve(cookie.value, { rotate: false }));
      expect(again?.cookie).toBeUndefined();
      expect(again?.session.lastSeenAt.getTime()).toBeGreaterThan(session.createdAt.getTime());
    }
  });

  it("after 15 idle minutes a page is told to refresh, and a request that can set the cookie rotates it", async () => {
    const { sessions, advance } = setup();
    const { cookie } = await sessions.start("bob", null);
    advance(15 * MINUTE + 1);
    expect(await sessions.resolve(cookie.value, { rotate: false })).toEqual({ kind: "refresh-needed" });
    const rotated = active(await sessions.resolve(cookie.value, { rotate: true }));
    expect(rotated?.cookie?.value).toBeTruthy();
    expect(rotated?.cookie?.value).not.toBe(cookie.value);
    expect(active(await sessions.resolve(rotated!.cookie!.value, { rotate: true }))?.session.userId).toBe("bob");
  });

  it("a replayed old refresh token ends the whole session, the current cookie included", async () => {
    const { sessions, advance } = setup();
    const { cookie: stolen } = await sessions.start("bob", null);
    advance(16 * MINUTE);
    const current = active(await sessions.resolve(stolen.value, { rotate: true }))!.cookie!;
    // Within the grace a request in flight with the old cookie is still answered (no second rotation).
    advance(5_000);
    const inFlight = active(await sessions.resolve(stolen.value, { rotate: true }));
    expect(inFlight?.session.userId).toBe("bob");
    expect(inFlight?.cookie).toBeUndefined();
    advance(6_000);
    expect(await sessions.resolve(stolen.value, { rotate: true })).toEqual({ kind: "none", reason: "reuse", userId: "bob" });
    expect(await sessions.resolve(current.value, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
    expect(await sessions.list("bob")).toEqual([]);
  });

  it("sign-out ends the session at once; a copy of the cookie is refused, even rotated later", async () => {
    const { sessions, advance } = setup();
    const { cookie, session } = await sessions.start("alice", null);
    expect(await sessions.end(cookie.value)).toEqual(session);
    expect(await sessions.resolve(cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
    advance(20 * MINUTE);
    expect(await sessions.resolve(cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
  });

  it("a cookie past its expiry is refused at the first millisecond, with no tolerance", async () => {
    const { sessions, advance } = setup();
    const { cookie } = await sessions.start("alice", null);
    // Keep the server side alive (a request every 10 minutes) so only the cookie's own expiry decides.
    const expiresIn = cookie.expiresAt.getTime() - Date.parse("2026-12-02T10:00:00Z");
    advance(expiresIn - 1);
    expect(await sessions.resolve(cookie.value, { rotate: false })).not.toEqual({ kind: "none", reason: "invalid" });
    advance(1);
    expect(await sessions.resolve(cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "invalid" });
  });

  it("one store read per resolve without a cache; with one, none while nothing is due, and this process's sign-out is seen at once", async () => {
    const plain = setup();
    const { cookie } = await plain.sessions.start("alice", null);
    plain.reads.count = 0;
    expect(active(await plain.sessions.resolve(cookie.value, { rotate: true }))).not.toBeNull();
    expect(plain.reads.count).toBe(1);

    const { sessions, reads, advance } = setup({ cached: true });
    const started = await sessions.start("alice", null);
    reads.count = 0;
    for (let i = 0; i < 5; i++) expect(active(await sessions.resolve(started.cookie.value, { rotate: true }))).not.toBeNull();
    expect(reads.count).toBe(1);
    // A renewal due (a third of the access token's life gone): decided on fresh reads, written, then cached again.
    advance(6 * MINUTE);
    expect(active(await sessions.resolve(started.cookie.value, { rotate: false }))?.session.lastSeenAt.getTime()).toBeGreaterThan(started.session.lastSeenAt.getTime());
    reads.count = 0;
    await sessions.resolve(started.cookie.value, { rotate: false });
    expect(active(await sessions.resolve(started.cookie.value, { rotate: false }))).not.toBeNull();
    expect(reads.count).toBe(1);
    await sessions.end(started.cookie.value);
    expect(await sessions.resolve(started.cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
  });

  it("refuses a tampered or foreign cookie", async () => {
    const { sessions } = setup();
    const { cookie } = await sessions.start("alice", null);
    const other = setup().sessions;
    const foreign = (await other.start("alice", null)).cookie.value;
    expect(await sessions.resolve(foreign, { rotate: true })).toEqual({ kind: "none", reason: "invalid" });
    const tampered = cookie.value.slice(0, -2) + (cookie.value.endsWith("AA") ? "BB" : "AA");
    expect(await sessions.resolve(tampered, { rotate: true })).toEqual({ kind: "none", reason: "invalid" });
    expect(await sessions.resolve("not-a-cookie", { rotate: true })).toEqual({ kind: "none", reason: "invalid" });
  });

  it("lists a user's sessions and ends one, or all, by handle; never another user's", async () => {
    const { sessions, advance } = setup();
    const one = await sessions.start("alice", "one");
    advance(1_000);
    const two = await sessions.start("alice", "two");
    const bobs = await sessions.start("bob", "bob");
    expect((await sessions.list("alice")).map((s) => s.userAgent)).toEqual(["two", "one"]);
    expect(await sessions.endByHandle("alice", bobs.session.handle)).toBe(false);
    expect(active(await sessions.resolve(bobs.cookie.value, { rotate: true }))).not.toBeNull();
    expect(await sessions.endByHandle("alice", one.session.handle)).toBe(true);
    expect(await sessions.resolve(one.cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
    expect((await sessions.list("alice")).map((s) => s.handle)).toEqual([two.session.handle]);
    expect(await sessions.endAll("alice")).toEqual([two.session.handle]);
    expect(await sessions.resolve(two.cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
    expect(await sessions.list("alice")).toEqual([]);
  });
});
