import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, LineProcess, type TestDatabase } from "@tokenvault/db/testing";
import { postgresChanges, redisChanges, StoreReadCache, type ChangeFeed, type StoreLock, type TokenStore } from "@tokenvault/store";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { SessionCookieSealer } from "~/server/auth/session-cookie";
import { ServerSessions, type Resolution } from "~/server/auth/server-sessions";
import { herdBackend } from "../../../packages/store/test/herd-backends";
import { REDIS_URL } from "../../../packages/store/test/redis-keys";

// Sessions served from this process's read cache while another OS process (another app server,
// session-worker.ts) ends or rotates them through the same store: PostgreSQL (LISTEN on the
// trigger's NOTIFY) and Redis (SUBSCRIBE to the scripts' PUBLISH).
const STALE_BOUND_MS = 50;
const WORKER = join(import.meta.dirname, "session-worker.ts");

describe.each(["postgres", "redis"] as const)("sessions with a read cache on %s, ended in another process", (backend) => {
  const keyHex = randomBytes(32).toString("hex");
  const vault = new Vault(createKeyRing(Buffer.from(keyHex, "hex")));
  const secret = randomBytes(32).toString("base64url");
  const prefix = `sessions-cache-${randomBytes(4).toString("hex")}`;
  let database: TestDatabase | undefined;
  let store: TokenStore & { reads: number };
  let lock: StoreLock;
  let close: () => Promise<void>;
  let feed: ChangeFeed;
  let cache: StoreReadCache;
  let sessions: ServerSessions;
  let uncached: ServerSessions;
  let worker: LineProcess;

  beforeAll(async () => {
    if (backend === "postgres") database = await createTestDatabase("sessions-cache");
    const env = { HERD_BACKEND: backend, HERD_PREFIX: prefix, HERD_KEY: keyHex, HERD_DATABASE_URL: database?.url ?? "", SESSION_TEST_SECRET: secret };
    Object.assign(process.env, { HERD_DATABASE_URL: env.HERD_DATABASE_URL });
    const opened = await herdBackend(backend).open({ vault, prefix });
    // The real store, counting its reads.
    store = Object.assign(Object.create(opened.store) as TokenStore, { reads: 0 });
    store.get = (token: string) => {
      store.reads++;
      return opened.store.get(token);
    };
    lock = opened.lock;
    close = () => opened.store.close();
    feed = backend === "postgres" ? postgresChanges(database!.url, prefix, { heartbeatMs: 200, heartbeatTimeoutMs: 1_000 }) : redisChanges(REDIS_URL, prefix, { heartbeatMs: 200, heartbeatTimeoutMs: 1_000 });
    // The herd backends' stores: PostgreSQL's namespace is the prefix, Redis's the default one.
    cache = new StoreReadCache(store, { vault, namespace: backend === "postgres" ? prefix : "tokenvault", changes: feed });
    const sealer = new SessionCookieSealer(secret);
    sessions = new ServerSessions({ store, lock, sealer, cache });
    uncached = new ServerSessions({ store, lock, sealer });
    await feed.start();
    worker = new LineProcess(WORKER, env, join(import.meta.dirname, ".."));
    await worker.next(60_000);
  });
  afterAll(async () => {
    await worker?.stop();
    await feed?.close();
    await close?.();
    await herdBackend(backend).cleanup(prefix);
    await database?.drop();
  });

  const isActive = (resolution: Resolution) => resolution.kind === "active";

  /** Resolves until one answer is served from memory (a write's own notice may refuse the first fill). */
  async function warm(cookie: string): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const hits = cache.counts.hits;
      expect(isActive(await sessions.resolve(cookie, { rotate: true }))).toBe(true);
      if (cache.counts.hits > hits) return;
      await sleep(5);
    }
    throw new Error("the session was never served from memory");
  }

  it("resolving a session is one store read without the cache (not three), and none once cached", async () => {
    const { cookie } = await sessions.start("alice", null);
    let before = store.reads;
    expect(isActive(await uncached.resolve(cookie.value, { rotate: true }))).toBe(true);
    expect(store.reads - before).toBe(1);
    await warm(cookie.value);
    before = store.reads;
    for (let i = 0; i < 20; i++) expect(isActive(await sessions.resolve(cookie.value, { rotate: true }))).toBe(true);
    // A stall of the loaded test process may send a read or two to the store: never all of them.
    expect(store.reads - before).toBeLessThan(20);
    expect(cache.counts.hits).toBeGreaterThan(0);
  });

  it(`a session ended in another process is not served ${STALE_BOUND_MS} ms after its commit`, async () => {
    const { cookie } = await sessions.start("alice", "ended-elsewhere");
    await warm(cookie.value);
    let lastActiveAt = 0;
    let servedActive = 0;
    /** When the worker answered (its write committed before): polling goes on for 200 ms after. */
    let answered = Number.POSITIVE_INFINITY;
    const polling = (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && Date.now() < answered + 200) {
        if (isActive(await sessions.resolve(cookie.value, { rotate: true }))) {
          lastActiveAt = Date.now();
          servedActive++;
        }
        await sleep(1);
      }
    })();
    await sleep(30);
    worker.send(`end ${cookie.value}`);
    const { committedAt } = await worker.next<{ committedAt: number }>(30_000);
    answered = Date.now();
    await polling;
    expect(servedActive).toBeGreaterThan(0);
    expect(await sessions.resolve(cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
    expect(lastActiveAt - committedAt, `served ${lastActiveAt - committedAt} ms after the other process's commit`).toBeLessThanOrEqual(STALE_BOUND_MS);
  });

  it("a rotation in another process: its new cookie works here at once, the old one within the grace; no false replay", async () => {
    const { cookie } = await sessions.start("bob", null);
    await warm(cookie.value);
    worker.send(`rotate ${cookie.value}`);
    const { cookie: rotated } = await worker.next<{ cookie: string | null }>(30_000);
    expect(rotated).toBeTruthy();
    // Whether or not the rotation's notice has arrived yet: the cached entry names the old refresh token.
    const next = await sessions.resolve(rotated!, { rotate: true });
    expect(next.kind === "active" && next.session.userId).toBe("bob");
    expect(isActive(await sessions.resolve(cookie.value, { rotate: true }))).toBe(true);
    expect(isActive(await sessions.resolve(rotated!, { rotate: true }))).toBe(true);
  });
});
