// The router tests' one setup: a fresh database, a real token service and, when asked, the
// simulator, with a caller factory standing in for the session resolver a host app provides.
import { randomBytes } from "node:crypto";
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase } from "@tokenvault/db/testing";
import { startSimulator, type SettingsPatch, type Simulator } from "@tokenvault/simulator";
import { genericOidcAdapter, ProviderRegistry, silentLogger, simulatedAdapters, simulatorOidcProvider, TokenService, type ProviderAdapter } from "@tokenvault/token";
import { AuditLogQuery } from "@tokenvault/token/audit";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { PickerOffers } from "~/server/api/picker-offers";
import { createCaller } from "~/server/api/root";
import { createContext, type ContextDeps } from "~/server/api/trpc";
import type { Caller } from "~/server/auth/caller";

/** An administrator and a member of Acme, and an administrator of another company. */
export const alice: Caller = { userId: "alice", companyId: "acme", role: "admin", name: "Alice" };
export const bob: Caller = { userId: "bob", companyId: "acme", role: "member", name: "Bob" };
export const carol: Caller = { userId: "carol", companyId: "globex", role: "admin", name: "Carol" };

/** Where every caller's requests come from: audit rows record this address (one trusted proxy). */
export const CLIENT_ADDRESS = "198.51.100.7";

export interface RouterHarnessOptions {
  /** The test database's name (made unique by createTestDatabase). */
  database: string;
  /** Start the simulator with these settings (auto-approve is implied); absent: no simulator, the providers point at a closed port. */
  simulator?: SettingsPatch;
  /** Also register a generic OpenID Connect provider at the simulator's issuer, as OIDC_PROVIDERS configures one. */
  oidc?: boolean;
}

export interface RouterHarness {
  db: Database;
  vault: Vault;
  service: TokenService;
  /** The secret the context's organisation picker offers are signed with (SESSION_SECRET in the app). */
  pickerOfferSecret: string;
  /** The simulator; throws when the options did not ask for one. */
  readonly sim: Simulator;
  /** The context's dependencies for this caller (null: no session), as the route handlers take them. */
  deps(caller: Caller | null): ContextDeps;
  /** The server-side tRPC caller for this caller. */
  api(caller: Caller | null): Promise<ReturnType<typeof createCaller>>;
  close(): Promise<void>;
}

export async function startRouterHarness(options: RouterHarnessOptions): Promise<RouterHarness> {
  const sim = options.simulator ? await startSimulator({ strict: true }) : undefined;
  if (sim) await sim.updateSettings({ autoApprove: true, ...options.simulator });
  const database = await createTestDatabase(options.database);
  const db = await openDatabase({ databaseUrl: database.url });
  const vault = new Vault(createKeyRing(randomBytes(32)));
  const service = new TokenService({
    prisma: db.prisma,
    vault,
    providers: new ProviderRegistry(sim ? await simulatorProviders(sim.url, options.oidc ?? false) : simulatedAdapters("http://127.0.0.1:9")),
    logger: silentLogger,
    options: { redirectUriFor: (p) => `http://127.0.0.1:3999/api/oauth/${p}/callback` },
  });
  const pickerOfferSecret = randomBytes(32).toString("base64url");
  const pickerOffers = new PickerOffers(pickerOfferSecret);
  const deps = (caller: Caller | null): ContextDeps => ({
    resolveSession: () => Promise.resolve(caller),
    services: () => Promise.resolve({ tokenService: service, auditLog: new AuditLogQuery(db.prisma), pickerOffers }),
    // As behind one proxy (TRUSTED_PROXIES=1): audit rows take the last X-Forwarded-For entry.
    trustedProxies: { kind: "hops", hops: 1 },
  });
  const headers = () => new Headers({ "user-agent": "router-test", "x-forwarded-for": CLIENT_ADDRESS });
  return {
    db,
    vault,
    service,
    pickerOfferSecret,
    get sim() {
      if (!sim) throw new Error("this router harness started no simulator");
      return sim;
    },
    deps,
    api: async (caller) => createCaller(await createContext(deps(caller), { headers: headers() })),
    async close() {
      await service.close();
      await sim?.close();
      await db.close();
      await database.drop();
    },
  };
}

/** QuickBooks and Xero at the simulator, and with `oidc` its OpenID Connect issuer as a generic provider. */
async function simulatorProviders(simulatorUrl: string, oidc: boolean): Promise<ProviderAdapter[]> {
  if (!oidc) return simulatedAdapters(simulatorUrl);
  const idp = await genericOidcAdapter(simulatorOidcProvider(simulatorUrl));
  return [...simulatedAdapters(simulatorUrl), idp];
}
