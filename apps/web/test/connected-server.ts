// The shutdown tests' setup: the production server on a database where acme's QuickBooks is
// already connected, so that one check through tRPC leaves a TOKEN_READ audit row queued (token
// reads are written in batches, a second apart) for the server's shutdown to write.
import { randomBytes } from "node:crypto";
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase } from "@tokenvault/db/testing";
import { startSimulator } from "@tokenvault/simulator";
import { ProviderRegistry, silentLogger, simulatedAdapters, TokenService } from "@tokenvault/token";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { signInOverHttp } from "./http-app";
import { startProductionServer, type RunningServer } from "./next-server";

/** What to undo after the test, run in reverse order. */
export type Cleanups = (() => Promise<unknown>)[];

/** Starts the simulator, a database with acme's QuickBooks connected, and the server on them; each pushes its cleanup. */
export async function startConnectedServer(label: string, cleanups: Cleanups): Promise<{ server: RunningServer; db: Database }> {
  const sim = await startSimulator({ strict: true });
  cleanups.push(() => sim.close());
  // One organisation per Xero consent: one Xero connection per company, which the seed signatures name.
  await sim.updateSettings({ autoApprove: true, xeroTenantsPerAuthorization: 1 });
  const database = await createTestDatabase(label);
  cleanups.push(() => database.drop());
  const db = await openDatabase({ databaseUrl: database.url });
  cleanups.push(() => db.close());

  // Connected through the simulator with the key the server will use.
  const key = randomBytes(32);
  const service = new TokenService({ prisma: db.prisma, vault: new Vault(createKeyRing(key)), providers: new ProviderRegistry(simulatedAdapters(sim.url)), logger: silentLogger });
  const { url } = await service.getAuthorizationUrl({ companyId: "acme", provider: "quickbooks", userId: "alice" });
  const consent = await fetch(url, { redirect: "manual" });
  await service.handleCallback({ provider: "quickbooks", callbackUrl: consent.headers.get("location")!, companyId: "acme", context: { userId: "alice" } });

  const server = await startProductionServer({
    DATABASE_URL: database.url,
    TOKEN_ENCRYPTION_KEY: key.toString("hex"),
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    SESSION_COOKIE_SECURE: "0",
    TOKENVAULT_DEMO_USERS: "1",
    PROVIDER_SIMULATOR_URL: sim.url,
  });
  cleanups.push(() => server.stop());
  return { server, db };
}

/** Alice, signed in over HTTP, checks acme's QuickBooks through tRPC; resolves with the HTTP status. */
export async function checkAsAlice(server: RunningServer): Promise<number> {
  const cookie = await signInOverHttp(server.url, "alice");
  const check = await fetch(`${server.url}/api/trpc/connection.check`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify({ json: { provider: "quickbooks" } }),
  });
  return check.status;
}

/** The audit rows of alice's check, sorted: CHECK (written with its health) and TOKEN_READ (queued) once both are written. */
export async function checkRows(db: Database): Promise<string[]> {
  const rows = await db.prisma.auditLog.findMany({ where: { companyId: "acme", userId: "alice", action: { in: ["CHECK", "TOKEN_READ"] } }, select: { action: true } });
  return rows.map((r) => r.action).sort();
}
