// The set-up the provider-call tests share: one harness for the file, one metrics registry, a
// fresh company and no simulator faults before each test, and token services (closed after the
// file) built with a given provider-call configuration, listening on the test database.
import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, beforeEach, inject } from "vitest";
import { silentLogger } from "../src/logger";
import { TokenMetrics } from "../src/metrics/token-metrics";
import type { ProviderCallsConfig } from "../src/provider-calls";
import type { ProviderRegistry } from "../src/providers/registry";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, TEST_OPTIONS, type Harness } from "./harness";

export interface ProviderCallContext {
  h: Harness;
  metrics: TokenMetrics;
  company: string;
}

/** `ready` receives the context before each test; the returned function builds a service (QuickBooks and Xero at the simulator unless `providers`). */
export function useProviderCallServices(ready: (context: ProviderCallContext) => void): (config: ProviderCallsConfig, providers?: ProviderRegistry) => TokenService {
  let h: Harness;
  let metrics: TokenMetrics;
  const services: TokenService[] = [];
  beforeAll(async () => {
    h = await createHarness(inject("databaseUrl"));
    metrics = new TokenMetrics(new Registry());
  });
  afterAll(async () => {
    for (const service of services) await service.close();
    await h?.close();
  });
  beforeEach(async () => {
    await h.sim.clearFaults();
    ready({ h, metrics, company: `co-${randomUUID().slice(0, 8)}` });
  });
  return (config, providers) => {
    const service = new TokenService({ prisma: h.db.prisma, vault: h.vault, providers: providers ?? registryFor(h.sim.url), logger: silentLogger, metrics, options: TEST_OPTIONS, listenDatabaseUrl: inject("databaseUrl"), providerCalls: config });
    services.push(service);
    return service;
  };
}
