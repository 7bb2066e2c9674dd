import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import { AuditLogQuery } from "../src/audit/audit-log-query";
import type { TokenService } from "../src/token-service";
import { useHarness, type Harness } from "./harness";

// Connections v2: a grant apart from the connections it reaches, the service by connection id,
// and the seed signature answering AMBIGUOUS_CONNECTION once a company has several.

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

async function codeOf(promise: Promise<unknown>): Promise<TokenError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  return error as TokenError;
}

const connectionsOf = async (provider: string) => (await service.listConnections(company)).filter((v) => v.provider === provider && v.connected);

describe("one Xero consent, three organisations", () => {
  it("makes three connections sharing one grant; a forced expiry costs exactly one provider refresh, and all three serve the new token", async () => {
    const tenants = await h.pinOrganisations(3);
    await h.connect(service, company, "xero");
    const views = await connectionsOf("xero");
    expect(views.map((v) => v.externalId).sort()).toEqual([...tenants].sort());
    expect(views.map((v) => v.name).sort()).toEqual(["Organisation 1", "Organisation 2", "Organisation 3"]);
    const ids = views.map((v) => v.connectionId!);
    const grants = await h.db.prisma.connection.findMany({ where: { id: { in: ids } }, select: { grantId: true } });
    expect(new Set(grants.map((g) => g.grantId)).size).toBe(1);
    const [simGrant] = await h.sim.listGrants({ tenantId: tenants[0]! });
    expect(simGrant!.tenants).toHaveLength(3);

    const before = await Promise.all(ids.map((connectionId) => service.getValidToken({ connectionId })));
    expect(new Set(before.map((t) => t.accessToken)).size).toBe(1);
    await h.expire(company, "xero");
    const refreshesBefore = (await h.sim.getGrant(simGrant!.id))!.counters.refreshSuccess;

    // Two processes' worth of services, each connection asked for concurrently.
    const other = h.service();
    const after = await Promise.all([service, other].flatMap((s) => ids.flatMap((connectionId) => [s.getValidToken({ connectionId }), s.getValidToken({ connectionId }, { userId: "bob" })])));
    expect((await h.sim.getGrant(simGrant!.id))!.counters.refreshSuccess).toBe(refreshesBefore + 1);
    expect(new Set(after.map((t) => t.accessToken)).size).toBe(1);
    expect(after[0]!.accessToken).not.toBe(before[0]!.accessToken);
    for (const [i, connectionId] of ids.entries()) {
      const token = await service.getValidToken({ connectionId });
      expect(token).toMatchObject({ connectionId, externalId: views[i]!.externalId, companyId: company });
      expect(token.tenants.map((t) => t.id).sort()).toEqual([...tenants].sort());
    }
    const refreshRows = await h.db.prisma.auditLog.count({ where: { companyId: company, action: "REFRESH", outcome: "SUCCESS" } });
    expect(refreshRows).toBe(1);
    // Health follows the grant: one refresh set all three.
    const health = await service.listConnectionHealth(company);
    expect(health.map((r) => r.connectionId).sort()).toEqual([...ids].sort());

    // The seed signature cannot choose among three; a selector or an id can.
    const ambiguous = await codeOf(service.getValidToken(company, "xero", "alice"));
    expect(ambiguous.code).toBe("AMBIGUOUS_CONNECTION");
    for (const id of ids) expect(ambiguous.message).toContain(id);
    expect((ambiguous.details?.connections as { id: string }[]).map((c) => c.id).sort()).toEqual([...ids].sort());
    expect((await service.getValidToken({ companyId: company, provider: "xero", tenantId: tenants[1]! })).externalId).toBe(tenants[1]);
  });

  it("an admin's choice of organisations connects only those; one not granted is refused and nothing is stored", async () => {
    const [a, b] = await h.pinOrganisations(3);
    await h.connect(service, company, "xero", "alice", [b!]);
    expect((await connectionsOf("xero")).map((v) => v.externalId)).toEqual([b]);
    // The one connection: the seed signature names it.
    expect((await service.getValidToken(company, "xero", "alice")).externalId).toBe(b);

    const refused = await codeOf(h.connect(service, company, "xero", "alice", [a!, "not-granted"]));
    expect(refused.code).toBe("INVALID_INPUT");
    expect((await connectionsOf("xero")).map((v) => v.externalId)).toEqual([b]);
  });
});

describe("one organisation of a shared Xero grant removed, and organisations added later", () => {
  it("disconnecting one organisation calls Xero's DELETE /connections/{id} for it alone: the grant keeps serving the others; only the last one's removal revokes it", async () => {
    const tenants = await h.pinOrganisations(3);
    await h.connect(service, company, "xero");
    const views = await connectionsOf("xero");
    const idOf = (tenant: string) => views.find((v) => v.externalId === tenant)!.connectionId!;
    const [simGrant] = await h.sim.listGrants({ tenantId: tenants[0]! });

    await service.disconnect({ connectionId: idOf(tenants[0]!), companyId: company }, { userId: "alice" });
    const after = (await h.sim.getGrant(simGrant!.id))!;
    expect(after.status).toBe("active");
    expect(after.tenants.map((t) => t.tenantId).sort()).toEqual([tenants[1]!, tenants[2]!].sort());
    expect((await connectionsOf("xero")).map((v) => v.externalId).sort()).toEqual([tenants[1]!, tenants[2]!].sort());
    // The others still work at Xero: a live check names each organisation.
    for (const tenant of tenants.slice(1)) expect((await service.checkConnection({ connectionId: idOf(tenant) }, { userId: "alice" })).status).toBe("HEALTHY");
    const revoke = await h.db.prisma.auditLog.findFirst({ where: { companyId: company, action: "REVOKE", connectionId: idOf(tenants[0]!) } });
    expect(revoke).toMatchObject({ outcome: "SUCCESS", requestMethod: "DELETE" });
    expect(revoke!.apiEndpoint).toMatch(/\/connections$/);

    // Xero refusing the DELETE keeps the connection (nothing changed), and says so.
    await h.sim.addFault({ kind: "error", provider: "xero", endpoint: "api", status: 500 });
    const refused = await codeOf(service.disconnect({ connectionId: idOf(tenants[1]!) }, { userId: "alice" }));
    expect(refused.code).toBe("PROVIDER_UNAVAILABLE");
    expect((await h.sim.getGrant(simGrant!.id))!.tenants).toHaveLength(2);
    expect(await connectionsOf("xero")).toHaveLength(2);
    await h.sim.clearFaults();

    await service.disconnect({ connectionId: idOf(tenants[1]!) }, { userId: "alice" });
    expect((await h.sim.getGrant(simGrant!.id))!.tenants.map((t) => t.tenantId)).toEqual([tenants[2]]);
    expect((await h.sim.getGrant(simGrant!.id))!.status).toBe("active");
    // The last one revokes the grant itself.
    await service.disconnect({ connectionId: idOf(tenants[2]!) }, { userId: "alice" });
    expect((await h.sim.getGrant(simGrant!.id))!.status).toBe("revoked");
    expect(await connectionsOf("xero")).toHaveLength(0);
    expect(await h.db.prisma.oAuthGrant.count({ where: { companyId: company } })).toBe(0);
  });

  it("a later consent adding an organisation adds a connection: the existing one keeps its id and keeps working, and a grant still serving it is not revoked", async () => {
    const [a] = await h.pinOrganisations(1);
    await h.connect(service, company, "xero");
    const [first] = await connectionsOf("xero");
    const [grantA] = await h.sim.listGrants({ tenantId: a! });

    // The second consent grants only the new organisation: a second grant beside the first, which is kept.
    const [b] = await h.pinOrganisations(1);
    await h.connect(service, company, "xero");
    const two = await connectionsOf("xero");
    expect(two.map((v) => v.externalId).sort()).toEqual([a!, b!].sort());
    expect(two.find((v) => v.externalId === a)!.connectionId).toBe(first!.connectionId);
    expect((await h.sim.getGrant(grantA!.id))!.status).toBe("active");
    expect(await h.db.prisma.oAuthGrant.count({ where: { companyId: company } })).toBe(2);
    expect((await service.checkConnection({ connectionId: first!.connectionId! }, { userId: "alice" })).status).toBe("HEALTHY");

    // A consent granting both again: the existing connections keep their ids, a third organisation is added.
    const c = randomUUID();
    await h.sim.updateSettings({ xeroTenants: [{ tenantId: a!, tenantName: "A" }, { tenantId: b!, tenantName: "B" }, { tenantId: c, tenantName: "C" }] });
    await h.connect(service, company, "xero");
    const three = await connectionsOf("xero");
    expect(three.map((v) => v.externalId).sort()).toEqual([a!, b!, c].sort());
    for (const v of two) expect(three.find((t) => t.externalId === v.externalId)!.connectionId).toBe(v.connectionId);
    for (const v of three) expect((await service.checkConnection({ connectionId: v.connectionId! }, { userId: "alice" })).status).toBe("HEALTHY");
  });
});

describe("QuickBooks realms", () => {
  it("two realms in one company are two connections, each serving its own token; the seed signature works with one and is ambiguous with two", async () => {
    const realmA = await h.pinRealm();
    await h.connect(service, company, "quickbooks");
    const one = await service.getValidToken(company, "quickbooks", "alice");
    expect(one.externalId).toBe(realmA);

    const realmB = `realm-${randomUUID().slice(0, 12)}`;
    await h.sim.updateSettings({ intuitRealmIds: [realmB] });
    await h.connect(service, company, "quickbooks");
    const views = await connectionsOf("quickbooks");
    expect(views.map((v) => v.externalId).sort()).toEqual([realmA, realmB].sort());

    const tokenA = await service.getValidToken({ companyId: company, provider: "quickbooks", realmId: realmA });
    const tokenB = await service.getValidToken({ companyId: company, provider: "quickbooks", identifier: realmB });
    expect(tokenA.accessToken).toBe(one.accessToken);
    expect(tokenB.accessToken).not.toBe(tokenA.accessToken);
    expect(tokenB.externalId).toBe(realmB);
    const idOf = (realm: string) => views.find((v) => v.externalId === realm)!.connectionId!;
    expect(await service.getValidToken({ connectionId: idOf(realmB) })).toMatchObject({ accessToken: tokenB.accessToken, connectionId: idOf(realmB) });

    const ambiguous = await codeOf(service.getValidToken(company, "quickbooks", "alice"));
    expect(ambiguous.code).toBe("AMBIGUOUS_CONNECTION");
    expect(ambiguous.message).toContain(idOf(realmA));
    expect(ambiguous.message).toContain(idOf(realmB));
    // Audited like any failed read, naming the company and provider (read rows are written in batches).
    const failedReads = () => h.db.prisma.auditLog.count({ where: { companyId: company, action: "TOKEN_READ", outcome: "FAILURE", details: { path: ["errorCode"], equals: "AMBIGUOUS_CONNECTION" } } });
    for (let waited = 0; (await failedReads()) === 0 && waited < 5_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await failedReads()).toBe(1);

    // Reconnecting realm A keeps its connection id; realm B is untouched.
    await h.sim.updateSettings({ intuitRealmIds: [realmA] });
    await h.connect(service, company, "quickbooks");
    const again = await connectionsOf("quickbooks");
    expect(again.map((v) => v.connectionId).sort()).toEqual(views.map((v) => v.connectionId).sort());
    expect((await service.getValidToken({ connectionId: idOf(realmA) })).accessToken).not.toBe(tokenA.accessToken);
    expect((await service.getValidToken({ connectionId: idOf(realmB) })).accessToken).toBe(tokenB.accessToken);

    // Disconnecting one realm leaves the other, and the seed signature names it again.
    await service.disconnect({ connectionId: idOf(realmA) }, { userId: "alice" });
    expect((await service.getValidToken(company, "quickbooks", "alice")).externalId).toBe(realmB);

    // Each connection's own history: the audit log filtered by its id.
    const { items } = await new AuditLogQuery(h.db.prisma).list(company, { connectionId: idOf(realmA) }, { limit: 200 });
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((i) => i.connectionId))).toEqual(new Set([idOf(realmA)]));
    expect(items.map((i) => i.action)).toEqual(expect.arrayContaining(["DISCONNECT", "REVOKE"]));
  });
});

describe("company scoping and bad input", () => {
  it("another company's connection id is NOT_FOUND, never its token; an unknown id too; a malformed one is INVALID_INPUT", async () => {
    await h.connect(service, company, "quickbooks");
    const [view] = await connectionsOf("quickbooks");
    const id = view!.connectionId!;
    expect((await service.getValidToken({ connectionId: id, companyId: company })).connectionId).toBe(id);
    expect((await codeOf(service.getValidToken({ connectionId: id, companyId: `other-${company}` }))).code).toBe("NOT_FOUND");
    expect((await codeOf(service.getTokenStatus({ connectionId: id, companyId: `other-${company}` }))).code).toBe("NOT_FOUND");
    expect((await codeOf(service.disconnect({ connectionId: id, companyId: `other-${company}` }, { userId: "mallory" }))).code).toBe("NOT_FOUND");
    expect((await codeOf(service.getValidToken({ connectionId: randomUUID() }))).code).toBe("NOT_FOUND");
    expect((await codeOf(service.getValidToken({ connectionId: "not-a-uuid" }))).code).toBe("INVALID_INPUT");
    expect((await codeOf(service.getValidToken({ companyId: company, provider: "quickbooks", realmId: "a", tenantId: "b" }))).code).toBe("INVALID_INPUT");
    // Still connected, after all of that.
    expect((await service.getValidToken({ connectionId: id })).connectionId).toBe(id);
  });
});
