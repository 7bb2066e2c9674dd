import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import type { Logger } from "../src/logger";
import { TokenMetrics } from "../src/metrics/token-metrics";
import { pinoLogger } from "../src/pino-logger";
import { bindingOf } from "../src/secrets/secret-store";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS, type Harness } from "./harness";

let h: Harness;
let databaseUrl: string;
let company: string;

beforeAll(async () => {
  databaseUrl = inject("databaseUrl");
  h = await createHarness(databaseUrl);
});
afterAll(() => h.close());
beforeEach(async () => {
  company = `co-${randomUUID().slice(0, 8)}`;
  await h.sim.clearFaults();
});

const services: TokenService[] = [];
afterAll(async () => {
  for (const service of services) await service.close();
});

function serviceWith(deps: { metrics?: TokenMetrics; logger: Logger }): TokenService {
  const service = new TokenService({ prisma: h.db.prisma, vault: h.vault, providers: registryFor(h.sim.url), options: TEST_OPTIONS, listenDatabaseUrl: databaseUrl, ...deps });
  services.push(service);
  return service;
}

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

/** The plaintext tokens the simulator issued to `companyId` as stored now (the canaries). */
async function storedTokens(companyId: string): Promise<string[]> {
  const rows = await h.db.prisma.tokenSecret.findMany({ where: { companyId } });
  return rows.map((row) => h.vault.open(row.ciphertext, bindingOf(row)));
}

describe("metrics", () => {
  it("counts a refresh against the simulator, its latency, vault operations, and a provider error by kind", async () => {
    const registry = new Registry();
    const service = serviceWith({ metrics: new TokenMetrics(registry), logger: pinoLogger({ destination: { write: () => {} } }) });
    await h.connect(service, company, "quickbooks");
    await h.expire(company, "quickbooks");
    await service.getValidToken(company, "quickbooks", "alice");

    expect(await value(registry, "tokenvault_refreshes_total", { provider: "quickbooks", outcome: "success" })).toBe(1);
    expect(await value(registry, "tokenvault_refresh_duration_seconds", { provider: "quickbooks", outcome: "success", le: "+Inf" })).toBe(1);
    expect(await value(registry, "tokenvault_vault_operations_total", { operation: "seal" })).toBeGreaterThanOrEqual(4); // 2 at connect, 2 at refresh
    expect(await value(registry, "tokenvault_vault_operations_total", { operation: "open" })).toBeGreaterThanOrEqual(2);

    const [grant] = await h.sim.listGrants({ realmId: (await h.db.prisma.connection.findFirstOrThrow({ where: { companyId: company } })).externalId });
    await h.sim.revokeGrant(grant!.id);
    await h.expire(company, "quickbooks");
    await expect(service.getValidToken(company, "quickbooks", "alice")).rejects.toBeInstanceOf(TokenError);
    expect(await value(registry, "tokenvault_refreshes_total", { provider: "quickbooks", outcome: "failure" })).toBe(1);
    expect(await value(registry, "tokenvault_provider_errors_total", { provider: "quickbooks", kind: "invalid_grant" })).toBe(1);
    expect(await registry.metrics()).toContain('tokenvault_refreshes_total{provider="quickbooks",outcome="success"} 1');
  });

  it("counts lease contention and the wait of a caller whose refresh found the lease held", async () => {
    const registry = new Registry();
    const metrics = new TokenMetrics(registry);
    const silent = pinoLogger({ destination: { write: () => {} } });
    const holder = serviceWith({ metrics, logger: silent });
    const other = serviceWith({ metrics, logger: silent });
    await h.connect(holder, company, "quickbooks");
    await h.expire(company, "quickbooks");
    await h.sim.addFault({ kind: "latency", provider: "intuit", latencyMs: 1_500, count: 1 });
    const first = holder.getValidToken(company, "quickbooks", "alice");
    // The holder has claimed the lease (its provider call is held up): the other caller must wait for it.
    while (!(await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company } })).leaseOwner) await new Promise((r) => setTimeout(r, 10));
    const second = other.getValidToken(company, "quickbooks", "bob");
    const [a, b] = await Promise.all([first, second]);
    expect(b.accessToken).toBe(a.accessToken);
    expect(await value(registry, "tokenvault_lease_contention_total", { provider: "quickbooks" })).toBe(1);
    expect(await value(registry, "tokenvault_refresh_wait_seconds", { provider: "quickbooks", le: "+Inf" })).toBe(1);
    expect(await value(registry, "tokenvault_refresh_waiters", { provider: "quickbooks" })).toBe(0);
    expect(await value(registry, "tokenvault_refreshes_total", { provider: "quickbooks", outcome: "success" })).toBe(1);
  });
});

describe("structured logs", () => {
  it("never writes an issued token through connect, refresh and a failing refresh, while lines are written", async () => {
    const lines: string[] = [];
    const logger = pinoLogger({ destination: { write: (line: string) => void lines.push(line) } });
    const service = serviceWith({ logger });
    await h.connect(service, company, "xero");
    const canaries = new Set(await storedTokens(company));
    await h.expire(company, "xero");
    await service.getValidToken(company, "xero", "alice");
    for (const token of await storedTokens(company)) canaries.add(token);
    // A failing refresh (provider down) logs its retries and the failure.
    await h.sim.addFault({ kind: "error", provider: "xero", status: 502 });
    await h.expire(company, "xero");
    await expect(service.getValidToken(company, "xero", "alice")).rejects.toBeInstanceOf(TokenError);
    // A slip by a caller: secret-looking fields are censored.
    const slipped = [...canaries][0]!;
    logger.warn("a caller's slip", { accessToken: slipped, nested: { refresh_token: slipped, authorization: `Bearer ${slipped}` } });

    expect(canaries.size).toBe(4); // two access and two refresh tokens
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const parsed = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(parsed.map((l) => l.msg)).toEqual(expect.arrayContaining(["refresh failed", "a caller's slip"]));
    expect(lines.join("")).toContain("[redacted]");
    const output = lines.join("\n");
    for (const canary of canaries) expect(output.includes(canary)).toBe(false);
  });
});
