import { inspect } from "node:util";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { TokenMetrics } from "../metrics/token-metrics";
import { TokenCache } from "./token-cache";

const SECRET = "at-secret-plaintext-0123456789";
const KEY = TokenCache.key("conn-1");
const HOUR = 3_600_000;

/** A fill of connection `connectionId` from grant `grantId` (the ids notifications name). */
function fillOf(grantId = "c1", accessToken = SECRET, connectionId = "conn-1", watch: string[] = [connectionId]) {
  const now = Date.now();
  return {
    grantId,
    watch,
    companyId: "co",
    version: 3,
    lastRefreshedAt: new Date(now),
    token: { accessToken, tokenType: "Bearer" as const, expiresAt: new Date(now + HOUR), provider: "xero" as const, externalId: "tenant-1", tenants: [{ id: "tenant-1", name: "Demo" }], connectionId, companyId: "co" },
  };
}

function upCache() {
  const metrics = new TokenMetrics(new Registry());
  const cache = new TokenCache(metrics, 20);
  cache.up();
  return { cache, metrics };
}

const get = (cache: TokenCache, marginMs = 5 * 60_000) => cache.get(KEY, "xero", marginMs, Date.now());

describe("token cache", () => {
  it("serves a filled entry while the listener is up, and a copy each time", () => {
    const { cache } = upCache();
    cache.fill(KEY, cache.ticket(), fillOf());
    const first = get(cache);
    expect(first?.accessToken).toBe(SECRET);
    first!.tenants.push({ id: "x", name: "changed by a caller" });
    expect(get(cache)?.tenants).toEqual([{ id: "tenant-1", name: "Demo" }]);
  });

  it("is off until the listener is up, and stores nothing read before it came up", () => {
    const cache = new TokenCache(null);
    expect(cache.ticket()).toBeNull();
    cache.fill(KEY, cache.ticket(), fillOf());
    cache.up();
    expect(get(cache)).toBeUndefined();
  });

  it("serves and stores nothing while the listener is not proven alive (its heartbeat overdue), though it was not yet reported down", async () => {
    let alive = true;
    const metrics = new TokenMetrics(new Registry());
    const cache = new TokenCache(metrics, 20, () => alive);
    cache.up();
    cache.fill(KEY, cache.ticket(), fillOf());
    expect(get(cache)?.accessToken).toBe(SECRET);
    alive = false;
    expect(cache.active).toBe(false);
    expect(get(cache)).toBeUndefined();
    expect(cache.ticket()).toBeNull();
    const missed = (await metrics.tokenCacheMisses.get()).values.find((v) => v.labels.reason === "listener_down")?.value;
    expect(missed).toBe(1);
  });

  it("a notification for the connection drops its entry; another connection's does not", () => {
    const { cache } = upCache();
    cache.fill(KEY, cache.ticket(), fillOf("c1"));
    cache.notified("c2");
    expect(get(cache)).toBeDefined();
    cache.notified("c1");
    expect(get(cache)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("a notification that arrives while the read is in flight keeps that read's result out", () => {
    const { cache } = upCache();
    const ticket = cache.ticket(); // the read starts
    cache.notified("c1"); // the connection changes before the read's result is stored
    cache.fill(KEY, ticket, fillOf("c1"));
    expect(get(cache)).toBeUndefined();
    // A read that starts after the notification is stored.
    cache.fill(KEY, cache.ticket(), fillOf("c1"));
    expect(get(cache)).toBeDefined();
  });

  it("a write by this process drops the entry at once, and keeps a read in flight from storing the old one", () => {
    const { cache } = upCache();
    cache.fill(KEY, cache.ticket(), fillOf("c1"));
    const ticket = cache.ticket(); // a read in flight while this process disconnects
    cache.forget(["c1"]);
    expect(get(cache)).toBeUndefined();
    cache.fill(KEY, ticket, fillOf("c1"));
    expect(get(cache)).toBeUndefined();
    cache.fill(KEY, cache.ticket(), fillOf("c2")); // a new grant, read after the write
    expect(get(cache)).toBeDefined();
  });

  it("one notification of a grant drops the entry of every connection it serves; a connection's own drops only its entry", () => {
    const { cache } = upCache();
    const keys = ["conn-a", "conn-b", "conn-c"].map((id) => TokenCache.key(id));
    ["conn-a", "conn-b", "conn-c"].forEach((id, i) => cache.fill(keys[i]!, cache.ticket(), fillOf("grant-1", SECRET, id)));
    expect(cache.size).toBe(3);
    cache.notified("conn-b"); // re-pointed to another grant, or removed
    expect(keys.map((k) => cache.get(k, "xero", 0, Date.now()) !== undefined)).toEqual([true, false, true]);
    cache.notified("grant-1", 4); // the grant's token set was written
    expect(cache.size).toBe(0);
  });

  it("a change of the company's connections of a provider drops what a read by company and provider resolved", () => {
    const { cache } = upCache();
    const key = TokenCache.selectorKey("co", "xero", undefined);
    const scope = TokenCache.scopeId("co", "xero");
    cache.fill(key, cache.ticket(), fillOf("grant-1", SECRET, "conn-1", ["conn-1", scope]));
    expect(cache.get(key, "xero", 0, Date.now())).toBeDefined();
    cache.notified(TokenCache.scopeId("co", "quickbooks"));
    expect(cache.get(key, "xero", 0, Date.now())).toBeDefined();
    cache.notified(scope); // another organisation was connected: the read may now be ambiguous
    expect(cache.get(key, "xero", 0, Date.now())).toBeUndefined();
  });

  it("a read that names another company never hits", () => {
    const { cache } = upCache();
    cache.fill(KEY, cache.ticket(), fillOf());
    expect(cache.get(KEY, "xero", 0, Date.now(), "co")).toBeDefined();
    expect(cache.get(KEY, "xero", 0, Date.now(), "other-co")).toBeUndefined();
  });

  it("the listener going down clears and bypasses; coming back starts empty, refusing reads from before", () => {
    const { cache } = upCache();
    cache.fill(KEY, cache.ticket(), fillOf());
    const beforeDown = cache.ticket();
    cache.down();
    expect(cache.active).toBe(false);
    expect(get(cache)).toBeUndefined();
    cache.up();
    cache.fill(KEY, beforeDown, fillOf());
    expect(get(cache)).toBeUndefined();
    cache.fill(KEY, cache.ticket(), fillOf());
    expect(get(cache)).toBeDefined();
  });

  it("serves only while the token is fresh beyond the margin (capped at half its lifetime, as isFresh)", () => {
    const { cache } = upCache();
    cache.fill(KEY, cache.ticket(), fillOf());
    expect(get(cache, 5 * 60_000)).toBeDefined();
    // A margin longer than the token's life is capped at half of it: 30 min of 60 left.
    expect(get(cache, 2 * HOUR)).toBeDefined();
    expect(cache.get(KEY, "xero", 5 * 60_000, Date.now() + HOUR - 4 * 60_000)).toBeUndefined();
  });

  it("counts hits, misses and invalidations", async () => {
    const { cache, metrics } = upCache();
    get(cache);
    cache.fill(KEY, cache.ticket(), fillOf());
    get(cache);
    get(cache);
    cache.notified("c1");
    cache.fill(KEY, cache.ticket(), fillOf());
    cache.down();
    get(cache);
    const value = async (name: string, labels: Record<string, string>) =>
      (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(await value("tokenvault_token_cache_hits_total", { provider: "xero" })).toBe(2);
    expect(await value("tokenvault_token_cache_misses_total", { provider: "xero", reason: "absent" })).toBe(1);
    expect(await value("tokenvault_token_cache_misses_total", { provider: "xero", reason: "listener_down" })).toBe(1);
    expect(await value("tokenvault_token_cache_invalidations_total", { cause: "notify" })).toBe(1);
    expect(await value("tokenvault_token_cache_invalidations_total", { cause: "listener" })).toBe(1);
  });

  it("after the event loop was held up, serves nothing until it has read its sockets again", async () => {
    const { cache } = upCache();
    cache.fill(KEY, cache.ticket(), fillOf());
    expect(get(cache)).toBeDefined();
    const until = performance.now() + 30;
    while (performance.now() < until); // a 30 ms synchronous task: a notification may be waiting unread
    expect(get(cache)).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve)); // the loop polled its sockets
    expect(get(cache)).toBeDefined();
    cache.down();
  });

  it("never shows the token in JSON.stringify or util.inspect, of the cache or of its entries", () => {
    const { cache } = upCache();
    cache.fill(KEY, cache.ticket(), fillOf());
    const internals = cache as unknown as { entries: Map<string, unknown> };
    const shown = [
      JSON.stringify(cache),
      inspect(cache, { depth: Infinity, showHidden: true }),
      JSON.stringify([...internals.entries.values()]),
      inspect(internals.entries, { depth: Infinity, showHidden: true }),
      String([...internals.entries.values()][0]),
    ];
    for (const text of shown) expect(text).not.toContain(SECRET);
    expect(inspect(internals.entries)).toContain("[hidden]");
  });
});
