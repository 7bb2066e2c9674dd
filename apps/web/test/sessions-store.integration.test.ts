import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { connectRedisClusterTokenStore, createPostgresTokenStore, createRedisTokenStore, type TokenStore } from "@tokenvault/store";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { SessionCookieSealer } from "~/server/auth/session-cookie";
import { ServerSessions } from "~/server/auth/server-sessions";
import { clusterUnavailable, RedisCluster } from "../../../packages/store/test/redis-cluster";
import { RedisTestKeys } from "../../../packages/store/test/redis-keys";

// The session algorithm on the real backends the app uses (the shared Redis under a fresh
// prefix, PostgreSQL in a fresh database), and what each holds: a dump of every key and
// value, or every row, names no session id, user id, refresh token or handle in clear.
const MINUTE = 60_000;
const SECRET = randomBytes(32).toString("base64url");

if (clusterUnavailable) console.warn(`sessions on a Redis Cluster skipped: ${clusterUnavailable}`);
const backends = clusterUnavailable ? (["redis", "postgres"] as const) : (["redis", "redis-cluster", "postgres"] as const);

describe.each(backends)("sessions on %s", (backend) => {
  let now = Date.parse("2026-12-02T10:00:00Z");
  const clock = { now: () => new Date(now) };
  const vault = new Vault(createKeyRing(randomBytes(32)));
  const sealer = new SessionCookieSealer(SECRET);
  let store: TokenStore & { acquire(name: string, ttl: number): Promise<string | null>; release(name: string, owner: string): Promise<void> };
  let sessions: ServerSessions;
  let dump: () => Promise<string>;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (backend === "redis") {
      const keys = await new RedisTestKeys().connect();
      const prefix = keys.freshPrefix("auth-test");
      store = createRedisTokenStore(keys.client, { prefix, namespace: "auth", vault, clock });
      dump = () => keys.dump(prefix);
      cleanup = () => keys.close();
    } else if (backend === "redis-cluster") {
      // A 3-master cluster of this test's own; the store's keys share the `{prefix}` hash slot.
      const cluster = await RedisCluster.start(3);
      const prefix = `auth-test:${randomBytes(6).toString("hex")}`;
      const clustered = await connectRedisClusterTokenStore(cluster.urls, { prefix, namespace: "auth", vault, clock, log: () => {}, commandTimeoutMs: 1_000 });
      store = clustered;
      dump = () => cluster.dump(`{${prefix}}:*`);
      cleanup = async () => {
        await clustered.close();
        await cluster.stop();
      };
    } else {
      const database: TestDatabase = await createTestDatabase("web-sessions");
      const db: Database = await openDatabase({ databaseUrl: database.url });
      store = createPostgresTokenStore(db.prisma, { namespace: "auth", vault, clock });
      dump = async () => JSON.stringify(await db.prisma.$queryRawUnsafe(`SELECT * FROM "TokenStoreEntry"`));
      cleanup = async () => {
        await db.close();
        await database.drop();
      };
    }
    sessions = new ServerSessions({ store, lock: store, sealer, clock });
  });
  afterAll(() => cleanup?.());

  it("rotates, detects a replayed refresh token, and leaves nothing readable in the store", async () => {
    const userId = `user-${randomBytes(6).toString("hex")}`;
    const { cookie, session } = await sessions.start(userId, "Mozilla/5.0 canary-agent");
    now += 16 * MINUTE;
    const rotated = await sessions.resolve(cookie.value, { rotate: true });
    expect(rotated.kind === "active" && rotated.cookie).toBeTruthy();
    const current = rotated.kind === "active" ? rotated.cookie!.value : "";
    const second = await sessions.start(userId, null);

    const text = await dump();
    expect(text.length).toBeGreaterThan(0);
    const secrets = [cookie.value, current, session.handle, second.session.handle, userId, "canary-agent"];
    for (const value of [cookie.value, current, second.cookie.value]) {
      const reference = sealer.open(value, now)!;
      secrets.push(reference.sessionId, reference.refreshToken);
    }
    for (const secret of secrets) expect(text).not.toContain(secret);

    expect((await sessions.list(userId)).map((s) => s.handle).sort()).toEqual([session.handle, second.session.handle].sort());
    now += 11_000;
    expect(await sessions.resolve(cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "reuse", userId });
    expect(await sessions.resolve(current, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
    expect((await sessions.list(userId)).map((s) => s.handle)).toEqual([second.session.handle]);
    expect(await sessions.endAll(userId)).toEqual([second.session.handle]);
    expect(await sessions.resolve(second.cookie.value, { rotate: true })).toEqual({ kind: "none", reason: "ended" });
  });
});
