// What `pnpm soak` does itself, next to the processes it watches: the simulator, the vault key
// they all share, and a token service of its own on a direct database connection (not through
// the proxy) to connect companies, make tokens expire and count what was stored.
import { randomBytes } from "node:crypto";
import { openDatabase, type Database } from "@tokenvault/db";
import { startSimulator, type Simulator } from "@tokenvault/simulator";
import { ProviderRegistry, simulatedAdapters, silentLogger, TokenService } from "@tokenvault/token";
import { createKeyRing, Vault } from "@tokenvault/vault";

const REDIRECT = (provider: string) => `http://127.0.0.1:3999/api/oauth/${provider}/callback`;

export interface Direct {
  db: Database;
  sim: Simulator;
  keyHex: string;
  service: TokenService;
  /** The consent flow through the simulator (auto-approved) and the callback. */
  connect(companyId: string, provider: string): Promise<void>;
  /** The stored access token expires within the refresh margin (still valid), as if issued an hour ago. */
  expireSoon(companyId: string, provider: string): Promise<void>;
  close(): Promise<void>;
}

export async function startDirect(databaseUrl: string): Promise<Direct> {
  const db = await openDatabase({ databaseUrl });
  // The soak's check loops call QuickBooks far more than 500 times a minute: it measures faults,
  // not the provider's API limits (which the simulator enforces by default), so they are off.
  const sim = await startSimulator({ strict: true, limits: { enabled: false } });
  // One organisation per Xero consent: each soak company has one connection per provider, read by the seed signature.
  await sim.updateSettings({ autoApprove: true, xeroTenantsPerAuthorization: 1 });
  const key = randomBytes(32);
  const service = new TokenService({
    prisma: db.prisma,
    vault: new Vault(createKeyRing(key)),
    providers: new ProviderRegistry(simulatedAdapters(sim.url)),
    logger: silentLogger,
    options: { redirectUriFor: REDIRECT, tokenCache: false },
  });
  return {
    db,
    sim,
    keyHex: key.toString("hex"),
    service,
    async connect(companyId, provider) {
      const { url } = await service.getAuthorizationUrl({ companyId, provider, userId: "soak", redirectUri: REDIRECT(provider) });
      const consent = await fetch(url, { redirect: "manual" });
      const location = consent.headers.get("location");
      if (consent.status !== 302 || !location) throw new Error(`consent did not redirect: ${consent.status}`);
      await service.handleCallback({ provider, callbackUrl: location, companyId, context: { userId: "soak" } });
    },
    async expireSoon(companyId, provider) {
      await db.prisma.tokenSecret.updateMany({
        where: { companyId, provider, kind: "ACCESS_TOKEN" },
        data: { expiresAt: new Date(Date.now() + 60_000), lastRefreshedAt: new Date(Date.now() - 3_600_000) },
      });
    },
    async close() {
      await service.close();
      await sim.close();
      await db.close();
    },
  };
}
