import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import type { SqlExecutor } from "@tokenvault/db/migrate";
import { createEmptyDatabase, migrateToLatest, populateAt, type TestDatabase } from "@tokenvault/db/testing";
import { bindingOf } from "../src/secrets/secret-store";
import { TokenService } from "../src/token-service";
import { silentLogger } from "../src/logger";
import { registryFor, TEST_OPTIONS, useHarness, type Harness } from "./harness";

// Connections v2 (20261206090000_grants_and_connections) on a database written before it: every
// connection keeps its id, tokens, health and audit trail, and its sealed secrets still open.
const BEFORE = "20261202170000_company_webhooks";

let h: Harness;
let service: TokenService;
useHarness((context) => ({ h, service } = context));

interface Seeded {
  companyId: string;
  quickbooks: { id: string; realmId: string; simGrantId: string };
  xero: { id: string; tenantId: string; accessToken: string };
}

/** A QuickBooks grant the simulator knows (its refresh token opened), made through today's code on the shared database. */
async function liveQuickbooksGrant(): Promise<{ realmId: string; refreshToken: string; simGrantId: string }> {
  const source = `src-${randomUUID().slice(0, 8)}`;
  const realmId = new URL(await h.connect(service, source, "quickbooks")).searchParams.get("realmId")!;
  const row = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: source, kind: "REFRESH_TOKEN" } });
  const [simGrant] = await h.sim.listGrants({ realmId });
  return { realmId, refreshToken: h.vault.open(row.ciphertext, bindingOf(row)), simGrantId: simGrant!.id };
}

/** Rows as the code before connections v2 wrote them: one Connection per (company, provider), secrets sealed bound to its externalId. */
async function seed(db: SqlExecutor): Promise<Seeded> {
  const companyId = `mig-${randomUUID().slice(0, 8)}`;
  const live = await liveQuickbooksGrant();
  const qb = randomUUID();
  const xero = randomUUID();
  const tenantId = randomUUID();
  const xeroAccess = `xero-access-${randomUUID()}`;
  const seal = (provider: string, kind: string, externalId: string, value: string) => h.vault.seal(value, { companyId, provider, kind, externalId });
  const insertConnection = `INSERT INTO "Connection" ("id", "companyId", "provider", "externalId", "version", "connectedBy", "metadata", "refreshFailureDays", "lastFailureDay", "updatedAt")
                            VALUES ($1::uuid, $2, $3, $4, $5, 'alice', $6::jsonb, $7, $8, now())`;
  await db.query(insertConnection, [qb, companyId, "quickbooks", live.realmId, 3, JSON.stringify({ scope: "com.intuit.quickbooks.accounting" }), 1, "2026-12-01"]);
  const tenants = [{ id: tenantId, name: "Org One" }, { id: randomUUID(), name: "Org Two" }];
  await db.query(insertConnection, [xero, companyId, "xero", tenantId, 7, JSON.stringify({ tenants }), 0, null]);
  const insertSecret = `INSERT INTO "TokenSecret" ("id", "companyId", "provider", "kind", "externalId", "connectionId", "ciphertext", "keyId", "expiresAt", "lastRefreshedAt", "updatedAt")
                        VALUES (gen_random_uuid(), $1, $2, $3::"TokenKind", $4, $5::uuid, $6, $7, $8::timestamptz, now() - interval '2 hours', now())`;
  const secret = async (connectionId: string, provider: string, kind: string, externalId: string, value: string, expiresAt: Date) => {
    const sealed = seal(provider, kind, externalId, value);
    await db.query(insertSecret, [companyId, provider, kind, externalId, connectionId, sealed.ciphertext, sealed.keyId, expiresAt.toISOString()]);
  };
  const hour = 3_600_000;
  // QuickBooks: the access token has expired, so the first read refreshes at the provider.
  await secret(qb, "quickbooks", "ACCESS_TOKEN", live.realmId, "qb-access-expired", new Date(Date.now() - hour));
  await secret(qb, "quickbooks", "REFRESH_TOKEN", live.realmId, live.refreshToken, new Date(Date.now() + 90 * 24 * hour));
  await secret(xero, "xero", "ACCESS_TOKEN", tenantId, xeroAccess, new Date(Date.now() + hour));
  await secret(xero, "xero", "REFRESH_TOKEN", tenantId, `xero-refresh-${randomUUID()}`, new Date(Date.now() + 60 * 24 * hour));
  await db.query(`INSERT INTO "ConnectionHealth" ("id", "companyId", "connectionType", "status", "updatedAt") VALUES (gen_random_uuid(), $1, 'quickbooks', 'HEALTHY', now()), (gen_random_uuid(), $1, 'xero', 'UNHEALTHY', now())`, [companyId]);
  await db.query(
    `INSERT INTO "AuditLog" ("id", "companyId", "userId", "action", "outcome", "connectionType", "apiEndpoint", "requestMethod", "responseStatus")
     VALUES (gen_random_uuid(), $1, 'alice', 'CONNECT', 'SUCCESS', 'quickbooks', 'token', 'POST', 200), (gen_random_uuid(), $1, 'system', 'REFRESH', 'FAILURE', 'quickbooks', 'token', 'POST', 503)`,
    [companyId],
  );
  return { companyId, quickbooks: { id: qb, realmId: live.realmId, simGrantId: live.simGrantId }, xero: { id: xero, tenantId, accessToken: xeroAccess } };
}

/** What must hold once the migration ran: the rows kept (same ids), and tokens served through the service by id and by the seed signature. */
async function expectMigrated(db: Database, seeded: Seeded): Promise<void> {
  const { companyId } = seeded;
  const connections = await db.prisma.connection.findMany({ where: { companyId }, orderBy: { provider: "asc" } });
  expect(connections.map((c) => [c.id, c.grantId, c.provider, c.externalId, c.displayName])).toEqual([
    [seeded.quickbooks.id, seeded.quickbooks.id, "quickbooks", seeded.quickbooks.realmId, ""],
    [seeded.xero.id, seeded.xero.id, "xero", seeded.xero.tenantId, "Org One"],
  ]);
  const grants = await db.prisma.oAuthGrant.findMany({ where: { companyId }, orderBy: { provider: "asc" } });
  expect(grants.map((g) => [g.id, g.version, g.secretExternalId, g.refreshFailureDays, g.lastFailureDay])).toEqual([
    [seeded.quickbooks.id, 3, seeded.quickbooks.realmId, 1, "2026-12-01"],
    [seeded.xero.id, 7, seeded.xero.tenantId, 0, null],
  ]);
  const secrets = await db.prisma.tokenSecret.findMany({ where: { companyId } });
  expect(secrets).toHaveLength(4);
  expect(new Set(secrets.map((s) => s.grantId))).toEqual(new Set([seeded.quickbooks.id, seeded.xero.id]));
  const health = await db.prisma.connectionHealth.findMany({ where: { companyId }, orderBy: { connectionType: "asc" } });
  expect(health.map((r) => [r.connectionId, r.status])).toEqual([
    [seeded.quickbooks.id, "HEALTHY"],
    [seeded.xero.id, "UNHEALTHY"],
  ]);
  const audit = await db.prisma.auditLog.findMany({ where: { companyId }, orderBy: { action: "asc" } });
  expect(audit.map((a) => [a.action, a.connectionType, a.connectionId])).toEqual([
    ["CONNECT", "quickbooks", null],
    ["REFRESH", "quickbooks", null],
  ]);

  const migrated = new TokenService({ prisma: db.prisma, vault: h.vault, providers: registryFor(h.sim.url), logger: silentLogger, options: TEST_OPTIONS });
  try {
    // Sealed before the migration, opened after it: by connection id, and by the seed signature.
    expect((await migrated.getValidToken({ connectionId: seeded.xero.id }, { userId: "alice" })).accessToken).toBe(seeded.xero.accessToken);
    expect((await migrated.getValidToken(companyId, "xero", "alice")).accessToken).toBe(seeded.xero.accessToken);
    // The expired QuickBooks token is refreshed once at the provider with the migrated refresh token.
    const before = (await h.sim.getGrant(seeded.quickbooks.simGrantId))!.counters.refreshSuccess;
    const refreshed = await migrated.getValidToken(companyId, "quickbooks", "alice");
    expect(refreshed).toMatchObject({ connectionId: seeded.quickbooks.id, externalId: seeded.quickbooks.realmId });
    expect(refreshed.accessToken).not.toBe("qb-access-expired");
    expect((await h.sim.getGrant(seeded.quickbooks.simGrantId))!.counters.refreshSuccess).toBe(before + 1);
    // What the refresh sealed opens too (a new reader, so no cache), with no second refresh.
    const reader = new TokenService({ prisma: db.prisma, vault: h.vault, providers: registryFor(h.sim.url), logger: silentLogger, options: TEST_OPTIONS });
    expect((await reader.getValidToken({ connectionId: seeded.quickbooks.id })).accessToken).toBe(refreshed.accessToken);
    await reader.close();
    expect((await h.sim.getGrant(seeded.quickbooks.simGrantId))!.counters.refreshSuccess).toBe(before + 1);
    const refreshRow = await db.prisma.auditLog.findFirstOrThrow({ where: { companyId, action: "REFRESH", outcome: "SUCCESS" } });
    expect(refreshRow.connectionId).toBe(seeded.quickbooks.id);
  } finally {
    await migrated.close();
  }
}

describe("the grants-and-connections migration on a populated database", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it("PostgreSQL: every connection keeps its id, tokens, health and audit trail, and serves a valid token", async () => {
    const database: TestDatabase = await createEmptyDatabase("grants_migration");
    cleanups.push(() => database.drop());
    let seeded: Seeded | undefined;
    await populateAt({ url: database.url }, BEFORE, async (db) => void (seeded = await seed(db)));
    expect(await migrateToLatest(database.url)).toContain("20261206090000_grants_and_connections");
    const db = await openDatabase({ databaseUrl: database.url });
    try {
      await expectMigrated(db, seeded!);
    } finally {
      await db.close();
    }
  });

  it("PGlite: the same, the embedded database migrating itself when opened", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "tokenvault-grants-migration-"));
    cleanups.push(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
    let seeded: Seeded | undefined;
    await populateAt({ dataDir }, BEFORE, async (db) => void (seeded = await seed(db)));
    const db = await openDatabase({ pgliteDataDir: dataDir });
    try {
      expect(await db.prisma.connection.count()).toBe(2);
      await expectMigrated(db, seeded!);
    } finally {
      await db.close();
    }
  });
});
