// tokenService.fetch against the simulator over HTTP, with its limits in this test's PostgreSQL
// database: the token injected below the provider's API base, one refresh for a herd of 401s,
// retries of GETs through a 503 but never of a POST without an idempotency key, Retry-After.
import { randomUUID } from "node:crypto";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import { type TokenMetrics } from "../src/metrics/token-metrics";
import { type ProviderCallError, type ProviderCallsConfig } from "../src/provider-calls";
import { ProviderRegistry } from "../src/providers/registry";
import { type TokenService } from "../src/token-service";
import { simulatorOidcAdapter, type Harness } from "./harness";
import { useProviderCallServices } from "./provider-call-services";

let h: Harness;
let metrics: TokenMetrics;
let company: string;
const FAST: ProviderCallsConfig = { limits: { kind: "database" }, options: { backoffBaseMs: 200, backoffMaxMs: 1_000, maxAttempts: 10, totalTimeoutMs: 15_000 } };

const serviceWith = useProviderCallServices((context) => ({ h, metrics, company } = context));

const caught = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as ProviderCallError);
const grantOf = async (service: TokenService, provider: string) => (await h.sim.listGrants({ token: (await service.getValidToken(company, provider, "alice")).accessToken }))[0]!;

describe("tokenService.fetch", () => {
  it("calls the Xero organisation (xero-tenant-id) and the QuickBooks realm with the current token, by connection id too", async () => {
    const service = serviceWith(FAST);
    await h.connect(service, company, "xero");
    await h.connect(service, company, "quickbooks");
    const xero = await service.getValidToken(company, "xero", "alice");
    const organisation = (await (await service.fetch({ companyId: company, provider: "xero" }, "Organisation")).json()) as { Organisations: { OrganisationID: string }[] };
    expect(organisation.Organisations[0]!.OrganisationID).toBe(xero.externalId);

    const row = await h.db.prisma.connection.findFirstOrThrow({ where: { companyId: company, provider: "quickbooks" } });
    const realm = row.externalId;
    const info = (await (await service.fetch(row.id, `companyinfo/${realm}`)).json()) as { CompanyInfo: { Id: string } };
    expect(info.CompanyInfo.Id).toBe(realm);
    const sample = await metrics.registry.getSingleMetricAsString("tokenvault_provider_calls_total");
    expect(sample).toMatch(/provider="xero",outcome="success",status_class="2xx"} [1-9]/);
    expect(sample).not.toContain(xero.accessToken);
  });

  it("a token revoked mid-run: exactly one refresh across two services, then every caller succeeds", async () => {
    const [a, b] = [serviceWith(FAST), serviceWith(FAST)];
    await h.connect(a, company, "xero");
    const grant = await grantOf(a, "xero");
    await h.sim.revokeAccessTokens(grant.id);
    const before = (await h.sim.getGrant(grant.id))!.counters.refreshSuccess;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).fetch({ companyId: company, provider: "xero" }, "Organisation")));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await h.sim.getGrant(grant.id))!.counters.refreshSuccess - before).toBe(1);
  });

  it("a provider 503 for 10 s with the default retry bounds: GETs and keyed POSTs (QuickBooks requestid) are retried and succeed; a POST without a key reaches the provider once", { timeout: 45_000 }, async () => {
    const service = serviceWith({ limits: { kind: "database" } });
    await h.connect(service, company, "xero");
    await h.connect(service, company, "quickbooks");
    const qbo = { companyId: company, provider: "quickbooks" } as const;
    const invoice = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ Line: [{ Amount: 100 }] }) };
    const xeroDown = await h.sim.addFault({ kind: "error", provider: "xero", endpoint: "api", status: 503 });
    const qboDown = await h.sim.addFault({ kind: "error", provider: "intuit", endpoint: "api", status: 503 });
    const started = Date.now();
    const back = setTimeout(() => void Promise.all([h.sim.removeFault(xeroDown.id), h.sim.removeFault(qboDown.id)]), 10_000);
    try {
      const refused = await caught(service.fetch(qbo, "invoice", invoice));
      expect(refused?.code).toBe("PROVIDER_UNAVAILABLE");
      expect(refused?.answer?.status).toBe(503);
      expect((await h.sim.listFaults()).find((f) => f.id === qboDown.id)!.hits).toBe(1);

      const [organisation, created] = await Promise.all([
        service.fetch({ companyId: company, provider: "xero" }, "Organisation"),
        service.fetch(qbo, "invoice", { ...invoice, idempotencyKey: "inv-1" }),
      ]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
      expect(organisation.status).toBe(200);
      expect(created.status).toBe(200);
      // The same requestid again: QuickBooks answers the first invoice rather than making a second.
      const first = ((await created.json()) as { Invoice: { Id: string } }).Invoice.Id;
      const again = (await (await service.fetch(qbo, "invoice", { ...invoice, idempotencyKey: "inv-1" })).json()) as { Invoice: { Id: string } };
      expect(again.Invoice.Id).toBe(first);
    } finally {
      clearTimeout(back);
      await h.sim.clearFaults();
    }
  });

  it("a generic provider's POST: sent once on a 503 without a key, retried with one", async () => {
    // A generic OpenID Connect provider's userinfo takes POST.
    const oidc = serviceWith(FAST, new ProviderRegistry([await simulatorOidcAdapter(h.sim.url)]));
    await h.connect(oidc, company, "acme-idp");
    const userinfo = `${h.sim.url}/oidc/userinfo`;
    const down = await h.sim.addFault({ kind: "error", provider: "oidc", endpoint: "userinfo", status: 503 });
    const refused = await caught(oidc.fetch({ companyId: company, provider: "acme-idp" }, userinfo, { method: "POST" }));
    expect(refused?.code).toBe("PROVIDER_UNAVAILABLE");
    expect(refused?.answer?.status).toBe(503);
    expect((await h.sim.listFaults()).find((f) => f.id === down.id)!.hits).toBe(1);

    setTimeout(() => void h.sim.removeFault(down.id), 800);
    const retried = await oidc.fetch({ companyId: company, provider: "acme-idp" }, userinfo, { method: "POST", idempotencyKey: "order-1" });
    expect(retried.status).toBe(200);
  });

  it("honours a 429's Retry-After, and refuses at once (RATE_LIMITED, retryAt) when it is longer than the call may wait", async () => {
    const service = serviceWith(FAST);
    await h.connect(service, company, "xero");
    await h.sim.addFault({ kind: "rate_limit", provider: "xero", endpoint: "api", retryAfterSeconds: 1, count: 1 });
    const started = Date.now();
    expect((await service.fetch({ companyId: company, provider: "xero" }, "Organisation")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);

    const long = await h.sim.addFault({ kind: "rate_limit", provider: "xero", endpoint: "api", retryAfterSeconds: 60, count: 1 });
    const limited = await caught(service.fetch({ companyId: company, provider: "xero" }, "Organisation"));
    expect(limited?.code).toBe("RATE_LIMITED");
    expect(limited!.retryAt!.getTime()).toBeGreaterThan(Date.now() + 55_000);
    expect((await h.sim.listFaults()).find((f) => f.id === long.id)).toBeUndefined(); // used up: one request
    // The tenant is paused here meanwhile: the next call is refused without reaching the provider.
    const usage = async () => (await h.sim.apiUsage({ provider: "xero" })).tenants.reduce((n, t) => n + t.served, 0);
    const served = await usage();
    const paused = await caught(service.fetch({ companyId: company, provider: "xero" }, "Organisation"));
    expect(paused?.code).toBe("RATE_LIMITED");
    expect(paused?.answer).toBeNull();
    expect(await usage()).toBe(served);
  });

  it("another error status is PROVIDER_ERROR with the status and the provider's body, bounded, no token in it", async () => {
    const service = serviceWith(FAST);
    await h.connect(service, company, "quickbooks");
    const token = await service.getValidToken(company, "quickbooks", "alice");
    const error = await caught(service.fetch({ companyId: company, provider: "quickbooks" }, "companyinfo/0000"));
    expect(error?.code).toBe("PROVIDER_ERROR");
    expect(error?.answer?.status).toBe(400);
    expect(error?.answer?.body).toMatch(/not found/i);
    expect(error!.answer!.body.length).toBeLessThanOrEqual(2_049);
    expect(JSON.stringify({ message: error!.message, answer: error!.answer })).not.toContain(token.accessToken);
  });

  it("a second 401 after the refresh marks the connection for reauthorization", async () => {
    let grantId = "";
    // Every token is revoked just before it is used: the refreshed one is refused too.
    const revoking: typeof fetch = async (input, init) => {
      await h.sim.revokeAccessTokens(grantId);
      return fetch(input, init);
    };
    const service = serviceWith({ ...FAST, fetch: revoking });
    await h.connect(service, company, "xero");
    grantId = (await grantOf(service, "xero")).id;
    const error = await caught(service.fetch({ companyId: company, provider: "xero" }, "Organisation"));
    expect(error?.code).toBe("REAUTH_REQUIRED");
    expect(error?.answer?.status).toBe(401);
    expect(error?.answer?.body).toMatch(/Unauthorized/);
    await expect(service.getValidToken(company, "xero", "alice", { forceRefresh: true })).rejects.toMatchObject({ code: "REAUTH_REQUIRED" });
  });

  it("each call is a span and a metric sample, with no token, body or query string in either; the daily budget left is a gauge", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    try {
      const service = serviceWith(FAST);
      await h.connect(service, company, "xero");
      await h.connect(service, company, "quickbooks");
      const token = await service.getValidToken(company, "quickbooks", "alice");
      await service.fetch({ companyId: company, provider: "xero" }, "Organisation?where=secret-query");
      await caught(service.fetch({ companyId: company, provider: "quickbooks" }, "companyinfo/0000"));
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.name)).toEqual(["GET xero", "GET quickbooks"]);
      expect(spans[0]!.attributes).toMatchObject({ "http.request.method": "GET", "http.response.status_code": 200, "tokenvault.outcome": "success", "tokenvault.attempts": 1, "url.path": "/xero/api/api.xro/2.0/Organisation" });
      expect(spans[1]!.attributes).toMatchObject({ "http.response.status_code": 400, "tokenvault.outcome": "provider_error" });
      const recorded = JSON.stringify(spans.map((s) => ({ attributes: s.attributes, events: s.events, status: s.status })));
      expect(recorded).not.toContain(token.accessToken);
      expect(recorded).not.toContain("secret-query");
      expect(recorded).not.toMatch(/not found/i); // the provider's error body
    } finally {
      trace.disable();
      await provider.shutdown();
    }
    const gauge = await metrics.registry.getSingleMetricAsString("tokenvault_provider_daily_budget_remaining_ratio");
    // Xero's 5,000 a day per organisation, of which this company's organisation spent one (the least left among those called).
    expect(gauge).toMatch(/tokenvault_provider_daily_budget_remaining_ratio\{provider="xero"\} 0\.99/);
    const calls = await metrics.registry.getSingleMetricAsString("tokenvault_provider_calls_total");
    expect(calls).toMatch(/provider="quickbooks",outcome="provider_error",status_class="4xx"} [1-9]/);
  });

  it("reports a connection's budgets as the shared limits count them (database and Redis), without spending any", async () => {
    const redis = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
    try {
      for (const limits of [{ kind: "database" }, { kind: "redis", client: redis, prefix: `budget-${randomUUID().slice(0, 8)}` }] as const) {
        company = `co-${randomUUID().slice(0, 8)}`;
        const service = serviceWith({ limits, limitOverrides: { xero: { tenantRates: [{ name: "minute", points: 60, windowMs: 60_000 }, { name: "day", points: 10, windowMs: 86_400_000 }] } } });
        await h.connect(service, company, "xero");
        const ref = { companyId: company, provider: "xero" } as const;
        expect(await service.callBudgets(ref)).toEqual([
          { name: "minute", windowMs: 60_000, limit: 60, used: 0 },
          { name: "day", windowMs: 86_400_000, limit: 10, used: 0 },
        ]);
        for (let i = 0; i < 3; i++) await service.fetch(ref, "Organisation");
        const budgets = await service.callBudgets(ref);
        expect(budgets.map((b) => [b.name, b.used, b.limit])).toEqual([["minute", 3, 60], ["day", 3, 10]]);
        expect(await service.callBudgets(ref)).toEqual(budgets); // reading takes no turn
        const gauge = await metrics.registry.getSingleMetricAsString("tokenvault_provider_daily_budget_remaining_ratio");
        expect(gauge).toMatch(/provider="xero"} 0\.7/);
      }
    } finally {
      await redis.close();
    }
  });

  it("refuses a URL outside the provider's API before sending anything", async () => {
    const service = serviceWith(FAST);
    await h.connect(service, company, "xero");
    await expect(service.fetch({ companyId: company, provider: "xero" }, "http://192.0.2.10/steal")).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});
