import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import type { TokenService } from "../src/token-service";
import { useHarness, type Harness } from "./harness";

// listConnectionPage: the dashboard's view of a company with many connections, a page per
// provider, searchable, from real PostgreSQL.

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

/** `count` Xero connections of one grant (as one consent's organisations), named "Org 0001".., created a millisecond apart (oldest first). */
async function seedOrganisations(companyId: string, count: number, name = (i: number) => `Org ${String(i + 1).padStart(4, "0")}`): Promise<string[]> {
  const grantId = randomUUID();
  await h.db.prisma.oAuthGrant.create({ data: { id: grantId, companyId, provider: "xero", connectedBy: "alice" } });
  const start = Date.now() - count;
  const rows = Array.from({ length: count }, (_, i) => ({ id: randomUUID(), companyId, provider: "xero", grantId, externalId: `tenant-${i}`, displayName: name(i), connectedBy: "alice", createdAt: new Date(start + i) }));
  await h.db.prisma.connection.createMany({ data: rows });
  return rows.map((r) => r.id);
}

describe("a page of each provider's connections", () => {
  it("pages 1,050 Xero connections of one company oldest first, with the counts a pager needs, and leaves other companies out", async () => {
    const ids = await seedOrganisations(company, 1_050);
    await seedOrganisations(`other-${company}`, 30);
    await h.connect(service, company, "quickbooks");

    const first = await service.listConnectionPage(company);
    expect(first.map((g) => g.provider)).toEqual(["quickbooks", "xero", "oidc-sim"].filter((p) => first.some((g) => g.provider === p)));
    const xero = first.find((g) => g.provider === "xero")!;
    expect(xero).toMatchObject({ count: 1_050, total: 1_050, offset: 0, limit: 20 });
    expect(xero.connections.map((c) => c.connectionId)).toEqual(ids.slice(0, 20));
    expect(xero.connections[0]).toMatchObject({ provider: "xero", connected: true, name: "Org 0001", externalId: "tenant-0" });
    expect(first.find((g) => g.provider === "quickbooks")).toMatchObject({ count: 1, total: 1 });

    const last = await service.listConnectionPage(company, { providers: ["xero"], offsets: { xero: 1_040 }, limit: 20 });
    expect(last).toHaveLength(1);
    expect(last[0]!.connections.map((c) => c.connectionId)).toEqual(ids.slice(1_040));
    const past = await service.listConnectionPage(company, { providers: ["xero"], offsets: { xero: 5_000 } });
    expect(past[0]).toMatchObject({ total: 1_050, connections: [] });
    const big = await service.listConnectionPage(company, { providers: ["xero"], offsets: { xero: 100 }, limit: 100 });
    expect(big[0]!.connections.map((c) => c.connectionId)).toEqual(ids.slice(100, 200));
  });

  it("searches names and external ids case-insensitively, as plain text: % and _ are not wildcards", async () => {
    const names = ["Acme Ltd", "ACME Holdings", "Globex", "100% Real", "Under_score", "Underxscore"];
    const ids = await seedOrganisations(company, names.length, (i) => names[i]!);
    const found = async (search: string) => (await service.listConnectionPage(company, { providers: ["xero"], search }))[0]!;
    expect((await found("acme")).connections.map((c) => c.name)).toEqual(["Acme Ltd", "ACME Holdings"]);
    expect(await found("  acme ")).toMatchObject({ count: 6, total: 2 });
    expect((await found("%")).connections.map((c) => c.name)).toEqual(["100% Real"]);
    expect((await found("r_s")).connections.map((c) => c.name)).toEqual(["Under_score"]);
    expect((await found("tenant-2")).connections.map((c) => c.connectionId)).toEqual([ids[2]]);
    // By id (the organisation picker's): only those, and another company's id matches nothing.
    const [theirs] = await seedOrganisations(`other-${company}`, 1);
    const chosen = (await service.listConnectionPage(company, { providers: ["xero"], connectionIds: [ids[4]!, ids[1]!, theirs!] }))[0]!;
    expect(chosen.connections.map((c) => c.connectionId)).toEqual([ids[1], ids[4]]);
    // Nothing matches: an empty page (not the not-connected view: the company has connections).
    expect(await found("nothing like it")).toMatchObject({ count: 6, total: 0, connections: [] });
    // No connection of the provider at all: its one not-connected view, as listConnections gives it.
    const qbo = (await service.listConnectionPage(company, { providers: ["quickbooks"] }))[0]!;
    expect(qbo).toMatchObject({ count: 0, total: 0 });
    expect(qbo.connections.map((c) => [c.connected, c.connectionId])).toEqual([[false, null]]);
  });

  it("finds a connection by the name an admin gave it, and by one of its tags (the dashboard's search)", async () => {
    const ids = await seedOrganisations(company, 3, (i) => ["Acme Ltd", "Globex", "Initech"][i]!);
    const admin = { userId: "alice" };
    await service.updateConnection({ connectionId: ids[1]!, companyId: company }, { name: "Payroll books", tags: ["EU", "payroll"] }, admin);
    await service.updateConnection({ connectionId: ids[2]!, companyId: company }, { tags: ["eu"] }, admin);
    const found = async (search: string) => (await service.listConnectionPage(company, { providers: ["xero"], search }))[0]!.connections.map((c) => c.connectionId);
    expect(await found("payroll b")).toEqual([ids[1]]);
    expect(await found("PAYROLL")).toEqual([ids[1]]); // the name, and the tag
    expect(await found("eu")).toEqual([ids[1], ids[2]]); // a tag matches whole, whatever the case
    expect(await found("u")).toEqual([]); // only in the tag "eu": a tag is matched whole, never in part
  });

  it("refuses bad paging input with INVALID_INPUT before any query", async () => {
    const refused = async (query: Parameters<TokenService["listConnectionPage"]>[1]) => {
      const error = await service.listConnectionPage(company, query).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TokenError);
      return (error as TokenError).code;
    };
    expect(await refused({ limit: 0 })).toBe("INVALID_INPUT");
    expect(await refused({ limit: 101 })).toBe("INVALID_INPUT");
    expect(await refused({ offsets: { xero: -1 } })).toBe("INVALID_INPUT");
    expect(await refused({ offsets: { xero: 1.5 } })).toBe("INVALID_INPUT");
    expect(await refused({ search: "x".repeat(101) })).toBe("INVALID_INPUT");
    expect(await refused({ search: "a\u0000b" })).toBe("INVALID_INPUT");
    expect(await refused({ providers: ["sage"] })).toBe("UNKNOWN_PROVIDER");
    expect(await refused({ connectionIds: ["not-a-uuid"] })).toBe("INVALID_INPUT");
  });
});
