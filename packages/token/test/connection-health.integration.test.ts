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
    await db.prisma.connectionHealth.createMany({
      data: [
        { companyId: "acme", connectionType: "xero", status: "EXPIRED", errorMessage: "Reconnect Xero" },
        { companyId: "acme", connectionType: "quickbooks", status: "HEALTHY" },
        { companyId: "globex", connectionType: "quickbooks", status: "UNHEALTHY" },
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
