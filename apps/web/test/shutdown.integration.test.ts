import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "@tokenvault/db";
import { createTestDatabase } from "@tokenvault/db/testing";
import { startSimulator } from "@tokenvault/simulator";
import { ProviderRegistry, silentLogger, simulatedAdapters, TokenService } from "@tokenvault/token";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { signInOverHttp } from "./http-app";
import { startProductionServer } from "./next-server";

// The production server owns the token service: on SIGTERM it writes the audit rows it still
// queues (token reads are written in batches, a second apart) before it exits.
describe("production server shutdown", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("a check followed at once by SIGTERM leaves both its CHECK and TOKEN_READ rows", async () => {
    const sim = await startSimulator({ strict: true });
    cleanups.push(() => sim.close());
    // One organisation per Xero consent: one Xero connection per company, which the seed signatures name.
  await sim.updateSettings({ autoApprove: true, xeroTenantsPerAuthorization: 1 });
    const database = await createTestDatabase("web-sigterm");
    cleanups.push(() => database.drop());
    const db = await openDatabase({ databaseUrl: database.url });
    cleanups.push(() => db.close());

    // acme's QuickBooks, connected through the simulator with the key the server will use.
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
    const cookie = await signInOverHttp(server.url, "alice");

    const check = await fetch(`${server.url}/api/trpc/connection.check`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ json: { provider: "quickbooks" } }),
    });
    expect(check.status).toBe(200);
    await server.stop(); // SIGTERM, at once: the read is still queued

    // Both rows of the check: the CHECK written with its health, the TOKEN_READ queued until shutdown.
    const rows = await db.prisma.auditLog.findMany({ where: { companyId: "acme", userId: "alice", action: { in: ["CHECK", "TOKEN_READ"] } }, select: { action: true } });
    expect(rows.map((r) => r.action).sort()).toEqual(["CHECK", "TOKEN_READ"]);
    expect(server.output()).not.toContain("shutdown: a close step failed");
  });
});
