import { describe, expect, it } from "vitest";
import type { TokenService } from "../src/token-service";
import { refusal, useHarness, type Harness } from "./harness";

// An admin's name, tags and metadata per connection (issue 24 item 5): validated (INVALID_INPUT,
// nothing changed), normalised, audited, kept across a reconnect, and listConnections' filters.

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

const alice = { userId: "alice" };
const connected = async (filter?: Parameters<TokenService["listConnections"]>[1]) => (await service.listConnections(company, filter)).filter((v) => v.connected);

describe("connection settings", () => {
  it("renames, tags and describes a connection (normalised, audited), and a reconnect keeps them while renewing the scopes", async () => {
    await h.pinRealm();
    await h.connect(service, company, "quickbooks");
    const [view] = await connected();
    const connectionId = view!.connectionId!;
    expect(view!.requestedScopes).toContain("com.intuit.quickbooks.accounting");
    expect(view!.grantedScopes.length).toBeGreaterThan(0);

    const updated = await service.updateConnection({ connectionId, companyId: company }, { name: "  Acme books ", tags: ["Prod", "eu-west", "prod", " billing "], metadata: { owner: "finance", customer: 42, flags: { vip: true } } }, alice);
    expect(updated).toMatchObject({ customName: "Acme books", tags: ["billing", "eu-west", "prod"], metadata: { owner: "finance", customer: 42, flags: { vip: true } } });
    // A field left out is kept; null clears the name.
    await service.updateConnection({ connectionId }, { name: null }, alice);
    await service.updateConnection({ connectionId }, { name: "Acme books" }, alice);
    const [shown] = await connected();
    expect(shown).toMatchObject({ name: "Acme books", customName: "Acme books", tags: ["billing", "eu-west", "prod"], metadata: { owner: "finance" } });

    const rows = await h.db.prisma.auditLog.findMany({ where: { companyId: company, action: "UPDATE" }, orderBy: { timestamp: "asc" } });
    expect(rows.map((r) => (r.details as { fields: string }).fields)).toEqual(["metadata,name,tags", "name", "name"]);
    expect(rows.every((r) => r.connectionId === connectionId && r.userId === "alice")).toBe(true);

    await h.connect(service, company, "quickbooks");
    const [after] = await connected();
    expect(after).toMatchObject({ connectionId, customName: "Acme books", tags: ["billing", "eu-west", "prod"], metadata: { owner: "finance" } });
  });

  it("refuses bad input with INVALID_INPUT and changes nothing", async () => {
    await h.connect(service, company, "xero");
    const [view] = await connected();
    const connectionId = view!.connectionId!;
    await service.updateConnection({ connectionId }, { tags: ["keep"], metadata: { keep: 1 } }, alice);
    const bad: unknown[] = [
      { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      { tags: ["has space"] },
      { tags: ["x".repeat(41)] },
      { tags: [""] },
      { metadata: { big: "x".repeat(8 * 1024) } },
      { metadata: ["not", "an", "object"] },
      { metadata: "text" },
      { name: "x".repeat(101) },
      { name: "line\nbreak" },
      { colour: "red" },
      null,
    ];
    for (const input of bad) {
      const error = await refusal(service.updateConnection({ connectionId }, input as never, alice));
      expect(error.code, JSON.stringify(input)?.slice(0, 60)).toBe("INVALID_INPUT");
    }
    expect((await connected())[0]).toMatchObject({ tags: ["keep"], metadata: { keep: 1 }, customName: null });
    expect(await h.db.prisma.auditLog.count({ where: { companyId: company, action: "UPDATE" } })).toBe(1);
    // Just under the bound is accepted: the limit is 8 KiB of JSON, not fewer.
    const fits = { v: "x".repeat(8 * 1024 - 8) };
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(8 * 1024);
    await service.updateConnection({ connectionId }, { metadata: fits }, alice);
  });

  it("lists connections by tag and by metadata key=value, with no placeholder for providers that match nothing", async () => {
    const tenants = await h.pinOrganisations(3);
    await h.connect(service, company, "xero");
    const views = await connected();
    const id = (tenant: string) => views.find((v) => v.externalId === tenant)!.connectionId!;
    await service.updateConnection({ connectionId: id(tenants[0]!) }, { tags: ["prod", "eu"], metadata: { region: "eu", tier: 1 } }, alice);
    await service.updateConnection({ connectionId: id(tenants[1]!) }, { tags: ["prod"], metadata: { region: "us" } }, alice);

    const ids = async (filter: Parameters<TokenService["listConnections"]>[1]) => (await service.listConnections(company, filter)).map((v) => v.connectionId).sort();
    expect(await ids({ tags: ["prod"] })).toEqual([id(tenants[0]!), id(tenants[1]!)].sort());
    expect(await ids({ tags: ["PROD", "eu"] })).toEqual([id(tenants[0]!)]);
    expect(await ids({ metadata: { region: "us" } })).toEqual([id(tenants[1]!)]);
    // A URL carries values as text: "1" matches the number 1.
    expect(await ids({ metadata: { tier: "1" } })).toEqual([id(tenants[0]!)]);
    expect(await ids({ tags: ["prod"], metadata: { region: "us" } })).toEqual([id(tenants[1]!)]);
    expect(await ids({ tags: ["none"] })).toEqual([]);
    // Unfiltered: every connection, and a placeholder per provider without one.
    expect((await service.listConnections(company)).filter((v) => !v.connected).map((v) => v.provider)).toContain("quickbooks");
    expect((await refusal(service.listConnections(company, { tags: ["bad tag"] }))).code).toBe("INVALID_INPUT");
  });
});
