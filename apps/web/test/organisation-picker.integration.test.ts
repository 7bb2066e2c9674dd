import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import { createTestDatabase, type TestDatabase } from "@tokenvault/db/testing";
import { startSimulator, type Simulator } from "@tokenvault/simulator";
import { ProviderRegistry, quickbooksAdapter, silentLogger, simulatorQuickbooksEndpoints, simulatorXeroEndpoints, SIMULATOR_CLIENTS, TokenService, xeroAdapter } from "@tokenvault/token";
import { AuditLogQuery } from "@tokenvault/token/audit";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { oauthCallback } from "~/server/api/oauth-callback";
import { createCaller } from "~/server/api/root";
import { createContext, type ContextDeps } from "~/server/api/trpc";
import type { Caller } from "~/server/auth/caller";
import { codeOf } from "./trpc-code";

// The organisation picker's server side: a consent reaching several Xero organisations lands on
// the picker with the connections it made; connection.keep disconnects the unticked ones (at
// Xero too, over HTTP to the simulator); connection.page pages and searches, company-scoped.
const alice: Caller = { userId: "alice", companyId: "acme", role: "admin", name: "Alice" };
const bob: Caller = { userId: "bob", companyId: "acme", role: "member", name: "Bob" };
const carol: Caller = { userId: "carol", companyId: "globex", role: "admin", name: "Carol" };

describe("the organisation picker and the paged connection list", () => {
  let sim: Simulator;
  let database: TestDatabase;
  let db: Database;
  let service: TokenService;
  const deps = (caller: Caller | null): ContextDeps => ({
    resolveSession: () => Promise.resolve(caller),
    services: () => Promise.resolve({ tokenService: service, auditLog: new AuditLogQuery(db.prisma) }),
  });
  const api = async (caller: Caller | null) => createCaller(await createContext(deps(caller), { headers: new Headers() }));
  const xeroIds = async (caller: Caller) => (await (await api(caller)).connection.page({ providers: ["xero"] }))[0]!.connections.filter((c) => c.connected).map((c) => c.connectionId!);

  /** Alice's consent granting these organisations; answers the callback's Location and the callback URL. */
  async function consent(tenants: { tenantId: string; tenantName: string }[]): Promise<{ location: string; callback: string }> {
    await sim.updateSettings({ xeroTenants: tenants });
    const { url } = await (await api(alice)).connection.connect({ provider: "xero" });
    const callback = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    const answer = await oauthCallback(deps(alice), new Request(callback), "xero");
    expect(answer.status).toBe(303);
    return { location: answer.headers.get("location")!, callback };
  }

  beforeAll(async () => {
    sim = await startSimulator({ strict: true });
    await sim.updateSettings({ autoApprove: true });
    database = await createTestDatabase("picker");
    db = await openDatabase({ databaseUrl: database.url });
    service = new TokenService({
      prisma: db.prisma,
      vault: new Vault(createKeyRing(randomBytes(32))),
      providers: new ProviderRegistry([
        quickbooksAdapter({ ...SIMULATOR_CLIENTS.quickbooks, environment: "sandbox", endpoints: simulatorQuickbooksEndpoints(sim.url) }),
        xeroAdapter({ ...SIMULATOR_CLIENTS.xero, endpoints: simulatorXeroEndpoints(sim.url) }),
      ]),
      logger: silentLogger,
      options: { redirectUriFor: (p) => `http://127.0.0.1:3999/api/oauth/${p}/callback` },
    });
  });
  afterAll(async () => {
    await service.close();
    await sim.close();
    await db.close();
    await database.drop();
  });

  it("a consent granting three organisations lands on the picker with the three connections it made; the code is spent, no token in the URL", async () => {
    const tenants = ["North", "South", "East"].map((name) => ({ tenantId: randomUUID(), tenantName: name }));
    const { location, callback } = await consent(tenants);
    const target = new URL(location, "http://x");
    expect(target.pathname).toBe("/connections/organisations");
    expect(target.searchParams.get("provider")).toBe("xero");
    const ids = target.searchParams.get("ids")!.split(",");
    expect(ids.sort()).toEqual((await xeroIds(alice)).sort());
    expect([...target.searchParams.keys()].sort()).toEqual(["ids", "provider"]);
    // The page reads them by id, names and tenant ids as the consent gave them.
    const [group] = await (await api(alice)).connection.page({ providers: ["xero"], connectionIds: ids, limit: 100 });
    expect(group!.connections.map((c) => c.name).sort()).toEqual(["East", "North", "South"]);
    // Replaying the callback (a reload, a back button) cannot exchange the code again.
    const replay = await oauthCallback(deps(alice), new Request(callback), "xero");
    expect(replay.headers.get("location")).toBe("/connections?error=INVALID_STATE");
    expect((await xeroIds(alice)).sort()).toEqual(ids.sort());

    // A consent of one organisation goes straight back to the dashboard.
    await (await api(alice)).connection.keep({ offered: ids, keep: [] });
    const single = await consent([{ tenantId: randomUUID(), tenantName: "Solo" }]);
    expect(single.location).toBe("/connections?connected=xero");
    await (await api(alice)).connection.disconnect({ provider: "xero" });
  });

  it("keep: the unticked organisations are disconnected at Xero and here, the grant serves the kept ones; members, other companies and foreign ids change nothing", async () => {
    const tenants = ["North", "South", "East"].map((name) => ({ tenantId: randomUUID(), tenantName: name }));
    const ids = new URL((await consent(tenants)).location, "http://x").searchParams.get("ids")!.split(",");
    const views = (await (await api(alice)).connection.page({ providers: ["xero"], connectionIds: ids }))[0]!.connections;
    const idOf = (name: string) => views.find((v) => v.name === name)!.connectionId!;
    const [grant] = await sim.listGrants({ tenantId: tenants[0]!.tenantId });
    const untouched = async () => {
      expect((await xeroIds(alice)).sort()).toEqual([...ids].sort());
      expect((await sim.getGrant(grant!.id))!.tenants).toHaveLength(3);
    };

    expect(await codeOf((await api(bob)).connection.keep({ offered: ids, keep: [idOf("North")] }))).toBe("FORBIDDEN");
    await untouched();
    expect(await codeOf((await api(carol)).connection.keep({ offered: ids, keep: [idOf("North")] }))).toBe("NOT_FOUND");
    await untouched();
    expect(await codeOf((await api(alice)).connection.keep({ offered: ids, keep: [randomUUID()] }))).toBe("BAD_REQUEST");
    expect(await codeOf((await api(alice)).connection.keep({ offered: ["nope"], keep: [] }))).toBe("BAD_REQUEST");
    await untouched();

    const answer = await (await api(alice)).connection.keep({ offered: ids, keep: [idOf("North"), idOf("East")] });
    expect(answer).toEqual({ kept: expect.arrayContaining([idOf("North"), idOf("East")]) as unknown, removed: [idOf("South")] });
    expect((await xeroIds(alice)).sort()).toEqual([idOf("North"), idOf("East")].sort());
    const atXero = (await sim.getGrant(grant!.id))!;
    expect([atXero.status, atXero.tenants.map((t) => t.tenantName).sort()]).toEqual(["active", ["East", "North"]]);
    // Each kept one still works at Xero.
    for (const name of ["North", "East"]) expect((await (await api(alice)).connection.check({ provider: "xero", connectionId: idOf(name) })).status).toBe("HEALTHY");

    // Keeping none removes the rest; the last one revokes the grant.
    await (await api(alice)).connection.keep({ offered: [idOf("North"), idOf("East")], keep: [] });
    expect(await xeroIds(alice)).toEqual([]);
    expect((await sim.getGrant(grant!.id))!.status).toBe("revoked");
  });

  it("connection.page: a page per provider for the caller's company only; bad paging input is refused", async () => {
    const grantId = randomUUID();
    await db.prisma.oAuthGrant.create({ data: { id: grantId, companyId: "acme", provider: "xero", connectedBy: "alice" } });
    await db.prisma.connection.createMany({
      data: Array.from({ length: 45 }, (_, i) => ({ companyId: "acme", provider: "xero", grantId, externalId: `org-${i}`, displayName: `Org ${i}`, connectedBy: "alice", createdAt: new Date(Date.now() - 1_000 + i) })),
    });
    const [second] = await (await api(bob)).connection.page({ providers: ["xero"], offsets: { xero: 20 }, limit: 20 });
    expect(second).toMatchObject({ count: 45, total: 45, offset: 20 });
    expect(second!.connections.map((c) => c.externalId)).toEqual(Array.from({ length: 20 }, (_, i) => `org-${20 + i}`));
    const [searched] = await (await api(bob)).connection.page({ providers: ["xero"], search: "ORG 4" });
    expect(searched!.connections.map((c) => c.externalId)).toEqual(["org-4", "org-40", "org-41", "org-42", "org-43", "org-44"]);
    // Globex sees its own (none), never Acme's, even naming Acme's ids.
    const [theirs] = await (await api(carol)).connection.page({ providers: ["xero"], connectionIds: second!.connections.map((c) => c.connectionId!) });
    expect(theirs).toMatchObject({ count: 0, total: 0, connections: [] });
    expect((await (await api(carol)).connection.page({}))[1]!.connections.map((c) => c.connected)).toEqual([false]);
    for (const input of [{ limit: 101 }, { offsets: { xero: -1 } }, { search: "a\u0000" }, { search: "x".repeat(101) }, { providers: ["../x"] }]) {
      expect(await codeOf((await api(bob)).connection.page(input))).toBe("BAD_REQUEST");
    }
    expect(await codeOf((await api(null)).connection.page({}))).toBe("UNAUTHORIZED");
  });
});
