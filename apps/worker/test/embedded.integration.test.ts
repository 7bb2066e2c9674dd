import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import { startSimulator, type Simulator } from "@tokenvault/simulator";
import { ProviderRegistry, silentLogger, simulatedAdapters, TokenService } from "@tokenvault/token";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { QUEUES } from "../src/boss";
import { TokenvaultWorker } from "../src/worker";
import { eventually, REDIRECT, TEST_CONFIG } from "./harness";

/**
 * `pnpm dev` on the embedded database: the worker runs in the process that owns PGlite, its
 * pg-boss queue on the same PGlite instance. The whole path, on an in-memory PGlite.
 */
describe("the worker on the embedded database (PGlite)", () => {
  let db: Database;
  let sim: Simulator;
  let service: TokenService;
  beforeAll(async () => {
    db = await openDatabase({ pgliteDataDir: "memory://" });
    sim = await startSimulator({ strict: true });
    await sim.updateSettings({ autoApprove: true });
    service = new TokenService({
      prisma: db.prisma,
      vault: new Vault(createKeyRing(randomBytes(32))),
      providers: new ProviderRegistry(simulatedAdapters(sim.url)),
      logger: silentLogger,
      options: { redirectUriFor: REDIRECT },
    });
  });
  afterAll(async () => {
    await service.close();
    await sim.close();
    await db.close();
  });

  it("installs pg-boss in PGlite and refreshes a connection near expiry through a scan job", async () => {
    expect(db.kind).toBe("embedded");
    const { url } = await service.getAuthorizationUrl({ companyId: "acme-embedded", provider: "xero", userId: "alice", redirectUri: REDIRECT("xero") });
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await service.handleCallback({ provider: "xero", callbackUrl: location, companyId: "acme-embedded", context: { userId: "alice" } });
    await db.prisma.tokenSecret.updateMany({
      where: { companyId: "acme-embedded", kind: "ACCESS_TOKEN" },
      data: { expiresAt: new Date(Date.now() + 60_000), lastRefreshedAt: new Date(Date.now() - 3_600_000) },
    });

    const worker = new TokenvaultWorker({ target: { pglite: db.pglite! }, service, config: TEST_CONFIG, logger: silentLogger });
    await worker.start({ schedule: false });
    try {
      await worker.boss.send(QUEUES.scan, {});
      const access = await eventually(async () => {
        const row = await db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: "acme-embedded", kind: "ACCESS_TOKEN" } });
        return row.expiresAt! > new Date(Date.now() + 20 * 60_000) ? row : undefined;
      }, 45_000, "the refreshed access token");
      expect(access.state).toBe("VALID");
      const audit = await db.prisma.auditLog.findMany({ where: { companyId: "acme-embedded", action: "REFRESH" } });
      expect(audit.map((a) => [a.outcome, a.userId])).toEqual([["SUCCESS", "system:worker"]]);
    } finally {
      await worker.stop();
    }
  });
});
