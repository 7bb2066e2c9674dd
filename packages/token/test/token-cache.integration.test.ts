// The warm path: getValidToken served from the process's token cache with no database query,
// and the cache kept honest by the LISTEN connection. Another OS process (its own pool) marks the
// token invalid, refreshes it or disconnects: this process stops serving the old token within
// 50 ms of that commit (its NOTIFY). The listener killed by pg_terminate_backend: every call
// reads the database until it has reconnected, and a change made meanwhile is seen after.
// Database round trips are counted at the driver: every query a pg client sends is one.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { inspect } from "node:util";
import pg from "pg";
import { Registry } from "prom-client";
import { createTestDatabase, LineProcess, type TestDatabase } from "@tokenvault/db/testing";
import { createKeyRing, TokenError, Vault } from "@tokenvault/vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../src/logger";
import { TokenMetrics } from "../src/metrics/token-metrics";
import type { ConnectionEvents } from "../src/refresh/connection-events";
import { rotateKeys } from "../src/key-rotation";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS, type Harness } from "./harness";

const WORKER = join(import.meta.dirname, "herd-worker.ts");
const PACKAGE_ROOT = join(import.meta.dirname, "..");
/** The bound: a token changed in another process is not served longer than this after its NOTIFY. */
const STALE_BOUND_MS = 50;

const heard: { connectionId: string; at: number }[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}

// Every query any pg client in this process sends (Prisma's adapter included).
let queries = 0;
const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const originalQuery = prototype.query;

/** Between calls the event loop turns, as in a server between requests (see IoWatermark in token-cache.ts). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function counted<T>(call: () => Promise<T>): Promise<{ value: T; queries: number }> {
  const before = queries;
  const value = await call();
  return { value, queries: queries - before };
}

describe("the warm path: a per-process token cache kept by LISTEN/NOTIFY", () => {
  let database: TestDatabase;
  let h: Harness;
  let metrics: TokenMetrics;
  let oldKey: Buffer;
  let newKey: Buffer;
  /** Counting is exact here: this service does not bypass its cache after the loop was held up (see `watcher`). */
  let service: TokenService;
  /** The production setting: after a stall of 20 ms the cache is bypassed until the listener's socket is read. */
  let watcher: TokenService;
  /** The watcher's metrics: whether a call waited for a poll and whether it missed the cache. */
  let watcherMetrics: TokenMetrics;
  const workers: LineProcess[] = [];

  beforeAll(async () => {
    prototype.query = function (this: unknown, ...args: unknown[]) {
      queries++;
      return originalQuery.apply(this, args);
    };
    // Its own database: terminating its listener must not touch other test files' services.
    database = await createTestDatabase("cache");
    h = await createHarness(database.url, { strict: true });
    metrics = new TokenMetrics(new Registry());
    oldKey = Buffer.from(h.keyHex, "hex");
    newKey = randomBytes(32);
    // Opens records under the harness's key and under the key a rotation moves them to.
    const vault = new Vault(createKeyRing(oldKey, [newKey]));
    const deps = { prisma: h.db.prisma, vault, providers: registryFor(h.sim.url), logger: silentLogger, listenDatabaseUrl: database.url };
    // On a loaded machine the process is often not scheduled for 20 ms: the stall rule would send
    // such calls to the database, and a count of zero could not be asserted.
    service = new TokenService({ ...deps, metrics, options: { ...TEST_OPTIONS, tokenCache: true, tokenCacheStallMs: 60_000 } });
    watcherMetrics = new TokenMetrics(new Registry());
    watcher = new TokenService({ ...deps, metrics: watcherMetrics, options: { ...TEST_OPTIONS, tokenCache: true } });
    await until(() => service.cachingTokens && watcher.cachingTokens);
    // When each notification reached the watcher's listener (diagnostics of the 50 ms bound).
    const events = (watcher as unknown as { parts: { events: ConnectionEvents } }).parts.events;
    events.observe({ notified: (connectionId) => heard.push({ connectionId, at: Date.now() }), up() {}, down() {} });
  });
  afterAll(async () => {
    prototype.query = originalQuery;
    await Promise.all(workers.map((w) => w.stop()));
    await service?.close();
    await watcher?.close();
    await h?.close();
    await database?.drop();
  });

  /** A connected company whose token this process has cached (the second call proves it: no query). */
  async function warm(company: string, provider = "xero") {
    await service.getValidToken(company, provider, "warm-up");
    const { value, queries: n } = await counted(() => service.getValidToken(company, provider, "warm-up"));
    expect(n).toBe(0);
    return value;
  }

  it("a warm call makes no database query, by connection id as by company and provider; with the cache off every call does", async () => {
    await h.connect(service, "warm-co", "xero");
    const token = await warm("warm-co");
    const connectionId = token.connectionId;
    await service.getValidToken({ connectionId }, { userId: "warm-up" });
    const perCall: number[] = [];
    for (let i = 0; i < 100; i++) {
      await nextTurn();
      const byId = await counted(() => service.getValidToken({ connectionId }, { userId: "bob" }));
      expect(byId.value).toEqual(token);
      const bySeed = await counted(() => service.getValidToken("warm-co", "xero", "bob"));
      expect(bySeed.value).toEqual(token);
      perCall.push(byId.queries, bySeed.queries);
    }
    expect(Math.max(...perCall)).toBe(0);
    // Another company naming this connection's id is never answered from the cache (nor at all).
    await expect(service.getValidToken({ connectionId, companyId: "not-warm-co" })).rejects.toMatchObject({ code: "NOT_FOUND" });

    const cold = h.service(); // TEST_OPTIONS: the cache off
    await cold.getValidToken("warm-co", "xero", "bob");
    expect((await counted(() => cold.getValidToken("warm-co", "xero", "bob"))).queries).toBeGreaterThanOrEqual(1);
    // A forced refresh never comes from the cache.
    expect((await counted(() => service.getValidToken("warm-co", "xero", "bob", { forceRefresh: true }))).queries).toBeGreaterThanOrEqual(1);
  });

  it("warm reads are still audited: every call counted in the TOKEN_READ rows, written in batches", async () => {
    await h.connect(service, "audit-co", "quickbooks");
    await warm("audit-co", "quickbooks");
    await until(() => service.pendingAuditRows === 0);
    let n = 0;
    let queued = 0;
    for (let i = 0; i < 25; i++) {
      await nextTurn();
      // Measured around each call: the 1 s flush may run between calls (a loaded machine), not within one.
      const pendingBefore = service.pendingAuditRows;
      n += (await counted(() => service.getValidToken("audit-co", "quickbooks", "auditor"))).queries;
      queued += service.pendingAuditRows - pendingBefore;
    }
    expect(n).toBe(0);
    // Each read queued its audit entry, none written on the call's path.
    expect(queued).toBe(25);
    // Identical reads of one batch are one row that counts them (details.reads).
    const reads = async () =>
      (await h.db.prisma.auditLog.findMany({ where: { companyId: "audit-co", action: "TOKEN_READ", userId: "auditor", apiEndpoint: "tokenService.getValidToken" } }))
        .map((row) => (row.details as { reads?: number } | null)?.reads ?? 1)
        .reduce((a, b) => a + b, 0);
    await until(async () => (await reads()) >= 25, 10_000); // the 1 s flush
    expect(await reads()).toBe(25);
  });

  /**
   * Polls getValidToken every millisecond while `write` runs in the other process, until `done`
   * says the old token is gone. Asserts that the old token was not served more than 50 ms after
   * the other process's commit (wall clock: shared by both processes), nor after its
   * notification reached this process's listener (what the cache itself answers for; the rest
   * is PostgreSQL delivering the notification, which a failure message reports).
   */
  async function notServedAfterCommit(company: string, oldToken: string, write: () => Promise<{ committedAt: number }>, done: (outcome: { token?: string; error?: unknown }) => boolean) {
    const connection = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company, provider: "xero" } });
    let lastOldAt = 0;
    let servedOld = 0;
    let last: { token?: string; error?: unknown } = {};
    const polling = (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        try {
          const token = await watcher.getValidToken(company, "xero", "poller");
          last = { token: token.accessToken };
        } catch (error) {
          last = { error };
        }
        if (last.token === oldToken) {
          lastOldAt = Date.now();
          servedOld++;
        } else if (done(last)) return;
        await sleep(1);
      }
    })();
    await sleep(20); // the old token is being served from the cache
    const heardFrom = heard.length;
    const { committedAt } = await write();
    await polling;
    expect(servedOld).toBeGreaterThan(0);
    expect(done(last)).toBe(true);
    const heardAt = heard.slice(heardFrom).find((n) => n.connectionId === connection.id)?.at ?? Infinity;
    const report = `old token last served ${lastOldAt - committedAt} ms after the other process's commit; its notification reached this process ${heardAt - committedAt} ms after it`;
    expect(lastOldAt - heardAt, report).toBeLessThanOrEqual(STALE_BOUND_MS);
    expect(lastOldAt - committedAt, report).toBeLessThanOrEqual(STALE_BOUND_MS);
    return last;
  }

  it(`another process refreshes, marks the token invalid, disconnects: the old token is not served ${STALE_BOUND_MS} ms after its commit`, async () => {
    const company = "other-process-co";
    await h.connect(service, company, "xero");
    const worker = new LineProcess(WORKER, { HERD_DATABASE_URL: database.url, HERD_SIMULATOR_URL: h.sim.url, HERD_KEY: h.keyHex, HERD_COMPANY: company, HERD_PROVIDER: "xero", HERD_TOKEN_CACHE: "off" }, PACKAGE_ROOT);
    workers.push(worker);
    await worker.next(120_000);

    // 1. A refresh there: this process serves the new token.
    let old = await watcher.getValidToken(company, "xero", "warm-up");
    let refreshed = "";
    const afterRefresh = await notServedAfterCommit(company, old.accessToken, async () => {
      worker.send("refresh");
      const reply = await worker.next<{ committedAt: number; token: string }>(30_000);
      refreshed = reply.token;
      return reply;
    }, (o) => o.token !== undefined);
    expect(afterRefresh.token).toBe(refreshed);

    // 2. The access token marked invalid there: this process stops serving it (and refreshes).
    old = await watcher.getValidToken(company, "xero", "warm-up");
    const access = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: company, provider: "xero", kind: "ACCESS_TOKEN" } });
    await notServedAfterCommit(company, old.accessToken, async () => {
      worker.send(`invalid ${access.id}`);
      return worker.next<{ committedAt: number }>(30_000);
    }, (o) => o.token !== undefined);

    // 3. Disconnected there: this process answers NO_TOKEN.
    old = await watcher.getValidToken(company, "xero", "warm-up");
    await notServedAfterCommit(company, old.accessToken, async () => {
      worker.send("disconnect");
      return worker.next<{ committedAt: number }>(30_000);
    }, (o) => o.error instanceof TokenError && o.error.code === "NO_TOKEN");
  });

  it("after the event loop was held up, a call waits for the loop's next poll instead of the database: the cached token when nothing changed, never the old one when another process refreshed meanwhile", async () => {
    const company = "held-up-co";
    await h.connect(service, company, "xero");
    const hold = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until); // a long synchronous task: a notification may sit unread
    };
    // Nothing changed during the stall: answered from memory after one turn, no query (the old rule read the database).
    const cached = await watcher.getValidToken(company, "xero", "warm-up");
    await nextTurn();
    expect((await counted(() => watcher.getValidToken(company, "xero", "bob"))).queries).toBe(0);
    const total = async (counter: TokenMetrics["tokenCachePollWaits"]) => (await counter.get()).values.reduce((n, v) => n + v.value, 0);
    const [waitsBefore, missesBefore] = [await total(watcherMetrics.tokenCachePollWaits), await total(watcherMetrics.tokenCacheMisses)];
    hold(60);
    const afterStall = await watcher.getValidToken(company, "xero", "bob");
    expect(afterStall).toEqual(cached);
    // One wait for the poll, then served from memory (the old rule missed, reason "stalled", and
    // read the database). Not counted in queries: while the call waits, the loop runs this
    // process's timers too (the audit queue's write, the listener's heartbeat).
    expect([(await total(watcherMetrics.tokenCachePollWaits)) - waitsBefore, (await total(watcherMetrics.tokenCacheMisses)) - missesBefore]).toEqual([1, 0]);

    // Another process marks the token invalid while this one is held up (a write needing no
    // provider: the simulator runs in this process): its notification waits unread in the
    // listener's socket, and the call after the stall must not serve the old token.
    const worker = new LineProcess(WORKER, { HERD_DATABASE_URL: database.url, HERD_SIMULATOR_URL: h.sim.url, HERD_KEY: h.keyHex, HERD_COMPANY: company, HERD_PROVIDER: "xero", HERD_TOKEN_CACHE: "off" }, PACKAGE_ROOT);
    workers.push(worker);
    await worker.next(120_000);
    let proven = 0;
    for (let round = 0; round < 5 && proven < 2; round++) {
      const old = await watcher.getValidToken(company, "xero", "warm-up");
      await nextTurn();
      expect((await counted(() => watcher.getValidToken(company, "xero", "bob"))).queries).toBe(0);
      const access = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: company, provider: "xero", kind: "ACCESS_TOKEN" } });
      worker.send(`invalid ${access.id}`);
      const heldAt = Date.now();
      hold(1_000); // long enough for the write to commit on an idle machine
      const askedAt = Date.now();
      const served = await watcher.getValidToken(company, "xero", "bob");
      const reply = await worker.next<{ committedAt: number }>(30_000);
      // Only a round whose commit (and its NOTIFY) came during the stall proves anything.
      if (reply.committedAt <= heldAt || reply.committedAt + 5 >= askedAt) continue;
      proven++;
      expect(served.accessToken).not.toBe(old.accessToken);
    }
    expect(proven, "no refresh committed within the stall: the machine is too loaded to show it").toBeGreaterThan(0);
  });

  it("this process's own markTokenInvalid and disconnect are seen by its very next call", async () => {
    const company = "own-writes-co";
    await h.connect(service, company, "xero");
    const old = await warm(company);
    const access = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: company, provider: "xero", kind: "ACCESS_TOKEN" } });
    await service.markTokenInvalid(access.id, "reported compromised (test)");
    expect((await service.getValidToken(company, "xero", "bob")).accessToken).not.toBe(old.accessToken);
    await warm(company);
    await service.disconnect(company, "xero", { userId: "bob" });
    await expect(service.getValidToken(company, "xero", "bob")).rejects.toMatchObject({ code: "NO_TOKEN" });
  });

  it("key rotation (records re-encrypted, no version change) drops the cached entries it touched", async () => {
    const company = "rotation-co";
    await h.connect(service, company, "quickbooks");
    const token = await warm(company, "quickbooks");
    const invalidations = async () => (await metrics.tokenCacheInvalidations.get()).values.find((v) => v.labels.cause === "notify")?.value ?? 0;
    const before = await invalidations();
    const report = await rotateKeys({ prisma: h.db.prisma, vault: new Vault(createKeyRing(newKey, [oldKey])), logger: silentLogger });
    expect(report.reencrypted).toBeGreaterThanOrEqual(2);
    await until(async () => (await invalidations()) > before, 5_000);
    // The next call reads the database again (and opens the re-encrypted record: the same token).
    const { value, queries: n } = await counted(() => service.getValidToken(company, "quickbooks", "bob"));
    expect(n).toBeGreaterThanOrEqual(1);
    expect(value.accessToken).toBe(token.accessToken);
  });

  it("the listener terminated: calls read the database until it is back, then start from an empty cache", async () => {
    const company = "listener-co";
    await h.connect(service, company, "xero");
    const connection = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company, provider: "xero" } });
    const bypassed: number[] = [];
    let replacement = "";
    let old = "";
    // It reconnects 100 ms after the loss: on a loaded machine the write below may land after
    // that, which proves nothing about the resync; then the scenario runs again.
    for (let attempt = 1; attempt <= 5; attempt++) {
      old = (await warm(company)).accessToken;
      await h.db.prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tokenvault-listener' AND datname = current_database()`;
      await until(() => !service.listening, 5_000);
      expect(service.cachingTokens).toBe(false);
      const { value, queries: n } = await counted(() => service.getValidToken(company, "xero", "bob"));
      if (!service.listening) {
        expect(value.accessToken).toBe(old);
        bypassed.push(n);
      }
      // A new token written straight into the database while nobody listens: its notification
      // is lost. A cache that resumed without starting empty would serve the old one for an hour.
      replacement = `at-written-while-down-${randomBytes(6).toString("hex")}`;
      const sealed = h.vault.seal(replacement, { companyId: company, provider: "xero", kind: "ACCESS_TOKEN", externalId: connection.secretExternalId }).ciphertext;
      await h.db.prisma.$transaction([
        h.db.prisma.tokenSecret.updateMany({ where: { grantId: connection.id, kind: "ACCESS_TOKEN" }, data: { ciphertext: sealed } }),
        h.db.prisma.oAuthGrant.update({ where: { id: connection.id }, data: { version: { increment: 1 } } }),
      ]);
      if (!service.listening) break;
      // The listener was back in time to hear this write: let its notification arrive before warming again.
      await until(() => service.cachingTokens, 10_000);
      await sleep(200);
    }
    expect(bypassed.length).toBeGreaterThan(0);
    expect(Math.min(...bypassed)).toBeGreaterThanOrEqual(1);

    await until(() => service.cachingTokens, 10_000);
    const first = await counted(() => service.getValidToken(company, "xero", "bob"));
    expect(first.value.accessToken).toBe(replacement);
    expect(first.value.accessToken).not.toBe(old);
    expect((await counted(() => service.getValidToken(company, "xero", "bob"))).queries).toBe(0);
  });

  it("the service's cache shows no token when inspected or serialised", async () => {
    const company = "inspect-co";
    await h.connect(service, company, "xero");
    const token = await warm(company);
    const cache = (service as unknown as { parts: { cache: object } }).parts.cache;
    expect(JSON.stringify(cache)).not.toContain(token.accessToken);
    expect(inspect(cache, { depth: Infinity, showHidden: true })).not.toContain(token.accessToken);
    expect(inspect(service, { depth: 6 })).not.toContain(token.accessToken);
  });
});
