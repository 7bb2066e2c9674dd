import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BUILT_IN_PROVIDERS, nextScheduledRefresh, providersFromSettings, refreshTokenIdleMs, upkeepFactsOf, type UpkeepConnection, type UpkeepSecret } from "@tokenvault/token";
import { DEFAULT_WORKER_CONFIG, withProviderFacts, type WorkerConfig } from "./config";
import { decide, idleLifetimeMs } from "./policy";

const DAY = 86_400_000;
const now = new Date("2026-12-02T12:00:00Z");
const at = (msFromNow: number) => new Date(now.getTime() + msFromNow);
const secret = (expiresIn: number | null, refreshedAgo: number): UpkeepSecret => ({ state: "VALID", expiresAt: expiresIn === null ? null : at(expiresIn), lastRefreshedAt: at(-refreshedAgo) });

/** The simulated built-in providers, one OIDC provider declaring its idle lifetime and limits, one declaring nothing. */
async function deployment() {
  const endpoints = { authorization: "http://127.0.0.1:9/authorize", token: "http://127.0.0.1:9/token" };
  const oidc = [
    { id: "acme-idp", displayName: "Acme", clientId: "c", clientSecret: "s", scopes: ["read"], endpoints, refreshIdleDays: 14, limits: { concurrency: 2, tenantConcurrency: 1 } },
    { id: "plain-idp", displayName: "Plain", clientId: "c", clientSecret: "s", scopes: ["read"], endpoints },
  ];
  const registry = await providersFromSettings({
    quickbooks: null,
    xero: null,
    simulatorUrl: "http://127.0.0.1:4010",
    oidcProvidersJson: JSON.stringify(oidc),
    production: false,
    appUrl: "http://localhost:3000",
    refreshMarginMs: 300_000,
    checkCoalesceMs: 10_000,
    tokenCache: false,
  });
  return registry.list();
}

describe("provider facts, one definition", () => {
  it("the worker's decisions and the dashboard's next refresh agree for each provider (one idle rule, one schedule)", async () => {
    const adapters = await deployment();
    expect(adapters.map((a) => a.id).sort()).toEqual(["acme-idp", "plain-idp", "quickbooks", "xero"]);
    // A generic idle lifetime other than the default (WORKER_GENERIC_IDLE_DAYS=10).
    const config: WorkerConfig = withProviderFacts({ ...DEFAULT_WORKER_CONFIG, genericIdleMs: 10 * DAY }, upkeepFactsOf(adapters));
    const expectedIdleDays: Record<string, number> = { xero: 60, quickbooks: 100, "acme-idp": 14, "plain-idp": 10 };
    for (const adapter of adapters) {
      // The dashboard's inputs (connection-views.ts): the adapter's idle lifetime and the schedule.
      const dashboardIdle = (refresh: UpkeepSecret) => refreshTokenIdleMs(refresh, adapter.refreshToken.idleTtlSec ? adapter.refreshToken.idleTtlSec * 1000 : null, config);
      const cases: UpkeepConnection[] = [
        { access: secret(-DAY, DAY + 1_800_000), refresh: secret(null, DAY) },
        { access: secret(4 * 60_000, 6 * 60_000), refresh: secret(null, 2 * DAY) },
        { access: null, refresh: secret(5 * DAY, 3 * DAY) },
      ].map((secrets) => ({ id: "c1", grantId: "g1", companyId: "acme", provider: adapter.id, externalId: "t1", connections: [{ id: "c1", externalId: "t1" }], paused: false, refreshFailureDays: 0, lastFailureDay: null, exhaustedAt: null, incident: null, incidentAt: null, horizonWarning: null, hardExpiresAt: null, ...secrets }));
      expect(idleLifetimeMs(cases[0]!, config), adapter.id).toBe(expectedIdleDays[adapter.id]! * DAY);
      for (const c of cases) {
        expect(idleLifetimeMs(c, config)).toBe(dashboardIdle(c.refresh!));
        const next = nextScheduledRefresh({ access: c.access, refresh: c.refresh, exhausted: false, idleLifetimeMs: dashboardIdle(c.refresh!) }, config, now)!;
        const shifted = (ms: number) => new Date(Math.max(next.getTime(), now.getTime()) + ms);
        if (next > now) expect(decide(c, config, shifted(-1_000)).refresh, adapter.id).toBeNull();
        expect(decide(c, config, shifted(0)).refresh, adapter.id).not.toBeNull();
      }
    }
  });

  it("takes per-provider concurrency from the definitions and the OIDC settings; WORKER_PROVIDER_CONCURRENCY still sets one limit for all", async () => {
    const facts = upkeepFactsOf(await deployment());
    const config = withProviderFacts(DEFAULT_WORKER_CONFIG, facts);
    for (const definition of BUILT_IN_PROVIDERS) {
      expect(config.providerConcurrency[definition.id]).toBe(definition.limits.concurrency);
      expect(config.tenantConcurrency[definition.id]).toBe(definition.limits.tenantConcurrency);
    }
    expect(config.providerConcurrency["acme-idp"]).toBe(2);
    expect(config.tenantConcurrency["acme-idp"]).toBe(1);
    expect(withProviderFacts({ ...DEFAULT_WORKER_CONFIG, providerConcurrency: {}, defaultProviderConcurrency: 7 }, facts).providerConcurrency).toEqual({});
  });

  it("apps/worker/src names no provider outside tests", () => {
    const src = dirname(fileURLToPath(import.meta.url));
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
    expect(files.length).toBeGreaterThan(10);
    // As a string, a key or in a comment: a provider named here is a provider fact kept here.
    const offenders = files.filter((f) => /\b(xero|quickbooks|qbo|intuit)\b/i.test(readFileSync(join(src, f), "utf8")));
    expect(offenders).toEqual([]);
  });
});
