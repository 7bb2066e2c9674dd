import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import { randomBytes } from "node:crypto";
import { silentLogger } from "../src/logger";
import { ProviderRegistry } from "../src/providers/registry";
import { TokenService } from "../src/token-service";
import { createKeyRing, Vault } from "@tokenvault/vault";

describe("TokenService.listConnectionHealth", () => {
  let db: Database;
  let service: TokenService;
  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: inject("databaseUrl") });
    service = new TokenService({ prisma: db.prisma, vault: new Vault(createKeyRing(randomBytes(32))), providers: new ProviderRegistry([]), logger: silentLogger });
  });
  afterAll(() => db.close());

  it("returns only the asking company's rows", async () => {
    // Health rows belong to connections (each served by a grant).
    const connectionOf = async (companyId: string, provider: string) => {
      const grant = await db.prisma.oAuthGrant.create({ data: { companyId, provider, connectedBy: "alice" } });
      return (await db.prisma.connection.create({ data: { companyId, provider, grantId: grant.id, connectedBy: "alice" } })).id;
    };
    await db.prisma.connectionHealth.createMany({
      data: [
        { companyId: "acme", connectionId: await connectionOf("acme", "xero"), connectionType: "xero", status: "EXPIRED", errorMessage: "Reconnect Xero" },
        { companyId: "acme", connectionId: await connectionOf("acme", "quickbooks"), connectionType: "quickbooks", status: "HEALTHY" },
        { companyId: "globex", connectionId: await connectionOf("globex", "quickbooks"), connectionType: "quickbooks", status: "UNHEALTHY" },
      ],
    });
    const rows = await service.listConnectionHealth("acme");
    expect(rows.map((r) => [r.connectionType, r.status])).toEqual([
      ["quickbooks", "HEALTHY"],
      ["xero", "EXPIRED"],
    ]);
    expect(rows[1]?.errorMessage).toBe("Reconnect Xero");
    expect(await service.listConnectionHealth("nobody")).toEqual([]);
  });
});
