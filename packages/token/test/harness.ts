import { randomBytes } from "node:crypto";
import { openDatabase, type Database } from "@tokenvault/db";
import { startSimulator, type Simulator } from "@tokenvault/simulator";
import type { Clock } from "../src/clock";
import { silentLogger, type Logger } from "../src/logger";
import { genericOidcAdapter } from "../src/providers/generic-oidc";
import { ProviderRegistry } from "../src/providers/registry";
import type { ProviderAdapter } from "../src/providers/types";
import { simulatedAdapters, simulatorOidcProvider } from "../src/providers/simulated";
import type { TokenServiceOptions } from "../src/options";
import { TokenService } from "../src/token-service";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { afterAll, beforeAll, beforeEach, expect, inject } from "vitest";
import { TokenError } from "@tokenvault/vault";
import { randomUUID } from "node:crypto";

export const REDIRECT = (provider: string) => `http://127.0.0.1:3999/api/oauth/${provider}/callback`;

export function registryFor(simulatorUrl: string): ProviderRegistry {
  return new ProviderRegistry(simulatedAdapters(simulatorUrl));
}

/** The simulator's OpenID Connect provider (strict refresh-token rotation, no grace), found by discovery. */
export function simulatorOidcAdapter(simulatorUrl: string): Promise<ProviderAdapter> {
  return genericOidcAdapter(simulatorOidcProvider(simulatorUrl));
}

/**
 * Fast retries so failure tests finish quickly; everything else as in production, but for the
 * token cache: tests edit rows behind the service's back (expire(), expireSoon()) and read at
 * once, before the edit's notification could have reached the cache. test/token-cache.integration.test.ts
 * turns it on and tests it.
 */
export const TEST_OPTIONS: Partial<TokenServiceOptions> = {
  retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
  providerTimeoutMs: 2_000,
  leaseMs: 10_000,
  cooldownMs: 30_000,
  redirectUriFor: REDIRECT,
  tokenCache: false,
};

export interface Harness {
  db: Database;
  sim: Simulator;
  vault: Vault;
  keyHex: string;
  service(options?: Partial<TokenServiceOptions>, logger?: Logger, clock?: Clock): TokenService;
  /** Runs the whole consent flow through the simulator (auto-approved) and the callback. */
  connect(service: TokenService, companyId: string, provider: string, userId?: string, tenantIds?: string[]): Promise<string>;
  /**
   * From now on (until the next test) the Intuit consent offers one fixed company, so connecting
   * QuickBooks again reconnects the same realm (as a user picking their company again does). Returns the realm.
   */
  pinRealm(): Promise<string>;
  /** The same for Xero: the consent grants these organisations (fresh ids, `count` of them) until the next test. */
  pinOrganisations(count: number): Promise<string[]>;
  /** Makes the stored access token expire within the refresh margin (still valid: callers are not held up). */
  expireSoon(companyId: string, provider: string, inMs?: number): Promise<void>;
  /** Makes the stored access token expired: callers wait for the refresh. */
  expire(companyId: string, provider: string): Promise<void>;
  close(): Promise<void>;
}

export async function createHarness(databaseUrl: string, options: { strict?: boolean } = {}): Promise<Harness> {
  const db = await openDatabase({ databaseUrl });
  const sim = await startSimulator({ strict: options.strict ?? true });
  // One organisation per Xero consent: one Xero connection per company, which the seed signatures name.
  await sim.updateSettings({ autoApprove: true, xeroTenantsPerAuthorization: 1 });
  const key = randomBytes(32);
  const vault = new Vault(createKeyRing(key));
  const registry = registryFor(sim.url);
  const services: TokenService[] = [];
  async function expireSoon(companyId: string, provider: string, inMs = 60_000): Promise<void> {
    await db.prisma.tokenSecret.updateMany({
      where: { companyId, provider, kind: "ACCESS_TOKEN" },
      // As if issued an hour ago: the token's lifetime (which caps the margin) stays realistic.
      data: { expiresAt: new Date(Date.now() + inMs), lastRefreshedAt: new Date(Date.now() - 3_600_000) },
    });
  }
  return {
    db,
    sim,
    vault,
    keyHex: key.toString("hex"),
    service(overrides = {}, logger = silentLogger, clock) {
      const service = new TokenService({
        prisma: db.prisma,
        ...(clock ? { clock } : {}),
        vault: vault,
        providers: registry,
        logger,
        options: { ...TEST_OPTIONS, ...overrides },
        listenDatabaseUrl: databaseUrl,
      });
      services.push(service);
      return service;
    },
    async connect(service, companyId, provider, userId = "alice", tenantIds) {
      const { url } = await service.getAuthorizationUrl({ companyId, provider, userId, redirectUri: REDIRECT(provider) });
      const consent = await fetch(url, { redirect: "manual" });
      const location = consent.headers.get("location");
      if (consent.status !== 302 || !location) throw new Error(`consent did not redirect: ${consent.status}`);
      await service.handleCallback({ provider, callbackUrl: location, companyId, context: { userId }, ...(tenantIds ? { tenantIds } : {}) });
      return location;
    },
    async pinRealm() {
      const realm = `realm-${randomUUID().slice(0, 12)}`;
      await sim.updateSettings({ intuitRealmIds: [realm] });
      return realm;
    },
    async pinOrganisations(count) {
      const tenants = Array.from({ length: count }, (_, i) => ({ tenantId: randomUUID(), tenantName: `Organisation ${i + 1}` }));
      await sim.updateSettings({ xeroTenants: tenants });
      return tenants.map((t) => t.tenantId);
    },
    expireSoon,
    expire: (companyId, provider) => expireSoon(companyId, provider, -1000),
    async close() {
      for (const service of services) await service.close();
      await sim.close();
      await db.close();
    },
  };
}

/** What a test file's hooks hand over: the file's harness, its default service, this test's company. */
export interface HarnessContext {
  h: Harness;
  service: TokenService;
  company: string;
}

/**
 * The set-up most test files share: one harness and its default service for the file (closed
 * after it), and before each test the simulator's faults cleared and a fresh company id.
 * `ready` receives them; files keep plain `h`, `service` and `company` variables.
 */
export function useHarness(ready: (context: HarnessContext) => void): void {
  let h: Harness;
  let service: TokenService;
  beforeAll(async () => {
    h = await createHarness(inject("databaseUrl"));
    service = h.service();
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.sim.clearFaults();
    await h.sim.updateSettings({ intuitRealmIds: null, xeroTenants: null });
    ready({ h, service, company: `co-${randomUUID().slice(0, 8)}` });
  });
}

/** The typed error a call is refused with (the test fails if it resolves or throws anything else). */
export async function refusal(promise: Promise<unknown>): Promise<TokenError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  return error as TokenError;
}
