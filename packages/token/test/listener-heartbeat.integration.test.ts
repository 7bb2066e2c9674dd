// The LISTEN connection's network path dies silently: no reset, no error, just no bytes (the TCP
// proxy's black hole, between the listener and PostgreSQL only; queries go direct). Nothing
// tells the listener, so only its heartbeat (a NOTIFY to its own channel, echoed back) can: once
// no echo came for the bound, the listener is down, the token cache is cleared and bypassed, and
// a token changed meanwhile (its notification lost in the hole) is read from the database. The
// cache never serves past the last echo plus the bound. When the path is back, it reconnects.
import { randomBytes } from "node:crypto";
import { Registry } from "prom-client";
import { createTestDatabase, TcpProxy, type TestDatabase } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../src/logger";
import { TokenMetrics } from "../src/metrics/token-metrics";
import type { ConnectionEvents } from "../src/refresh/connection-events";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS, type Harness } from "./harness";

const HEARTBEAT_MS = 200;
const HEARTBEAT_TIMEOUT_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("the listener's network path goes silent (black hole)", () => {
  let database: TestDatabase;
  let h: Harness;
  let proxy: TcpProxy;
  let metrics: TokenMetrics;
  let service: TokenService;

  beforeAll(async () => {
    database = await createTestDatabase("heartbeat");
    h = await createHarness(database.url, { strict: true });
    proxy = await TcpProxy.forUrl(database.url);
    metrics = new TokenMetrics(new Registry());
    service = new TokenService({
      prisma: h.db.prisma,
      vault: h.vault,
      providers: registryFor(h.sim.url),
      logger: silentLogger,
      metrics,
      // A loaded machine often stalls 20 ms: that rule is tested elsewhere and would only add misses here.
      options: { ...TEST_OPTIONS, tokenCache: true, tokenCacheStallMs: 60_000, listenerHeartbeatMs: HEARTBEAT_MS, listenerHeartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS },
      listenDatabaseUrl: proxy.urlFor(database.url),
    });
  });
  afterAll(async () => {
    await service?.close();
    await proxy?.close();
    await h?.close();
    await database?.drop();
  });

  const events = () => (service as unknown as { parts: { events: ConnectionEvents } }).parts.events;
  const hits = async () => (await metrics.tokenCacheHits.get()).values.reduce((sum, v) => sum + v.value, 0);
  const failures = async (reason: string) => (await metrics.listenerFailures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  it(`the cache stops serving within ${HEARTBEAT_TIMEOUT_MS} ms of the last echo, a token changed meanwhile is read, and the listener comes back`, async () => {
    const company = "hole-co";
    await h.connect(service, company, "xero");
    const connection = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company, provider: "xero" } });
    await until("the listener", () => service.cachingTokens, 10_000);
    const old = (await service.getValidToken(company, "xero", "warm-up")).accessToken;
    const hitsBefore = await hits();
    expect((await service.getValidToken(company, "xero", "warm-up")).accessToken).toBe(old);
    expect(await hits()).toBe(hitsBefore + 1); // served from the cache

    const silentFrom = performance.now();
    proxy.setMode("blackhole");
    // A new token written while the listener hears nothing: its notification is lost in the hole.
    const replacement = `at-written-in-the-hole-${randomBytes(6).toString("hex")}`;
    const sealed = h.vault.seal(replacement, { companyId: company, provider: "xero", kind: "ACCESS_TOKEN", externalId: connection.secretExternalId }).ciphertext;
    await h.db.prisma.$transaction([
      h.db.prisma.tokenSecret.updateMany({ where: { grantId: connection.id, kind: "ACCESS_TOKEN" }, data: { ciphertext: sealed } }),
      h.db.prisma.oAuthGrant.update({ where: { id: connection.id }, data: { version: { increment: 1 } } }),
    ]);

    // Each call's time is taken before it: the cache's own check comes later, so it is no later than that.
    let lastOldAskedAt = silentFrom;
    let servedReplacementAt = 0;
    const deadline = performance.now() + 10 * HEARTBEAT_TIMEOUT_MS;
    while (performance.now() < deadline) {
      const askedAt = performance.now();
      const token = (await service.getValidToken(company, "xero", "poller")).accessToken;
      if (token === old) lastOldAskedAt = askedAt;
      else if (token === replacement) {
        servedReplacementAt = performance.now();
        break;
      }
      await sleep(5);
    }
    // The last echo read (an echo already on its way when the path went silent may be read just after).
    const lastEchoAt = events().lastEchoAt;
    const since = (t: number) => Math.round(t - silentFrom);
    const report = `path silent at 0 ms; last echo read at ${since(lastEchoAt)} ms; old token last served at ${since(lastOldAskedAt)} ms; the replacement ${servedReplacementAt ? `at ${since(servedReplacementAt)} ms` : "never"}`;
    console.info(report);
    expect(servedReplacementAt, report).toBeGreaterThan(0);
    // Nothing was served from the cache past the last echo plus the bound.
    expect(lastOldAskedAt - lastEchoAt, report).toBeLessThan(HEARTBEAT_TIMEOUT_MS);
    expect(service.listening).toBe(false);
    expect(service.cachingTokens).toBe(false);
    expect(await failures("heartbeat_timeout")).toBeGreaterThanOrEqual(1);

    // The path is back: the listener reconnects (a new connection), and the cache serves again.
    proxy.restore();
    await until("the listener to reconnect", () => service.cachingTokens, 20_000);
    expect((await service.getValidToken(company, "xero", "poller")).accessToken).toBe(replacement);
    const hitsAfter = await hits();
    expect((await service.getValidToken(company, "xero", "poller")).accessToken).toBe(replacement);
    expect(await hits()).toBe(hitsAfter + 1);
  });
});
