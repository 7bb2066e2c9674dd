import { describe, expect, it } from "vitest";
import { silentLogger } from "../src/logger";
import { ProviderCallError, requestToken } from "../src/oauth/token-client";
import { SIMULATOR_CLIENTS, simulatorQuickbooksEndpoints, simulatorXeroEndpoints } from "../src/providers/simulated";
import { bindingOf } from "../src/secrets/secret-store";
import type { TokenService } from "../src/token-service";
import { useHarness, type Harness } from "./harness";

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

/** The refresh token the vault holds for the company's connection, opened. */
async function storedRefreshToken(provider: string): Promise<string> {
  const row = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: company, provider, kind: "REFRESH_TOKEN" } });
  return h.vault.open(row.ciphertext, bindingOf(row));
}

/** Presents a refresh token to the simulator's token endpoint, as anyone holding it could. */
async function refreshesAtSimulator(provider: "quickbooks" | "xero", refreshToken: string): Promise<boolean> {
  const endpoints = provider === "quickbooks" ? simulatorQuickbooksEndpoints(h.sim.url) : simulatorXeroEndpoints(h.sim.url);
  try {
    await requestToken(endpoints.token, { ...SIMULATOR_CLIENTS[provider], auth: "client_secret_basic" }, { grant_type: "refresh_token", refresh_token: refreshToken }, 2_000);
    return true;
  } catch (error) {
    if (error instanceof ProviderCallError && error.kind === "invalid_grant") return false;
    throw error;
  }
}

async function revokeRows() {
  const rows = await h.db.prisma.auditLog.findMany({ where: { companyId: company, action: "REVOKE" }, orderBy: { timestamp: "asc" } });
  return rows.map((r) => ({ outcome: r.outcome, details: r.details as Record<string, unknown> | null }));
}

describe("a reconnect revokes the grant it replaced", () => {
  it("QuickBooks: the old refresh token no longer refreshes at the provider, and a REVOKE row is written", async () => {
    await h.pinRealm(); // the reconnect names the same QuickBooks company
    await h.connect(service, company, "quickbooks");
    const old = await storedRefreshToken("quickbooks");
    await h.connect(service, company, "quickbooks");
    expect(await storedRefreshToken("quickbooks")).not.toBe(old);

    expect(await refreshesAtSimulator("quickbooks", old)).toBe(false);
    expect(await revokeRows()).toEqual([{ outcome: "SUCCESS", details: expect.objectContaining({ reason: "replaced_by_reconnect" }) as unknown }]);
    expect(await h.db.prisma.pendingRevocation.count({ where: { companyId: company } })).toBe(0);
    // The new grant is untouched.
    expect((await service.checkConnection(company, "quickbooks", { userId: "alice" })).status).toBe("HEALTHY");
  });

  it("QuickBooks: a refused revocation is kept, sealed, audited as a failure, and a later retry revokes it and removes the record", async () => {
    await h.pinRealm(); // the reconnect names the same QuickBooks company
    await h.connect(service, company, "quickbooks");
    const old = await storedRefreshToken("quickbooks");
    await h.sim.addFault({ kind: "error", provider: "intuit", endpoint: "revoke", status: 503 });
    await h.connect(service, company, "quickbooks");

    const pending = await h.db.prisma.pendingRevocation.findMany({ where: { companyId: company } });
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ provider: "quickbooks", attempts: 1 });
    expect(pending[0]!.sealed).toMatch(/^tv1\./);
    expect(pending[0]!.sealed).not.toContain(old);
    expect(pending[0]!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
    expect(await revokeRows()).toEqual([{ outcome: "FAILURE", details: expect.objectContaining({ attempts: 1 }) as unknown }]);

    // Not due yet: nothing is attempted, nothing dropped.
    expect(await service.retryPendingRevocations()).toEqual({ attempted: 0, revoked: 0, failed: 0 });
    expect(await h.db.prisma.pendingRevocation.count({ where: { companyId: company } })).toBe(1);

    // An hour later the provider still refuses: kept, back-off grows.
    const inAnHour = serviceAt(Date.now() + 3_600_000);
    const refused = await inAnHour.retryPendingRevocations();
    expect(refused).toMatchObject({ revoked: 0 });
    expect(refused.failed).toBeGreaterThanOrEqual(1);
    const kept = await h.db.prisma.pendingRevocation.findUniqueOrThrow({ where: { id: pending[0]!.id } });
    expect(kept.attempts).toBe(2);
    expect(await refreshesAtSimulator("quickbooks", old)).toBe(true);

    await h.sim.clearFaults();
    const nextDay = serviceAt(Date.now() + 24 * 3_600_000);
    const report = await nextDay.retryPendingRevocations();
    expect(report.revoked).toBeGreaterThanOrEqual(1);
    expect(await h.db.prisma.pendingRevocation.count({ where: { companyId: company } })).toBe(0);
    expect(await refreshesAtSimulator("quickbooks", old)).toBe(false);
    expect((await revokeRows()).map((r) => r.outcome)).toEqual(["FAILURE", "FAILURE", "SUCCESS"]);
  });

  it("Xero: a grant left serving nothing is revoked, and its organisations the new grant does not serve are disconnected", async () => {
    const [a, b, c] = await h.pinOrganisations(3);
    await h.sim.updateSettings({ xeroTenants: [a, b].map((tenantId) => ({ tenantId: tenantId!, tenantName: tenantId! })) });
    // The admin connects only organisation A; the old authorization also holds B.
    await h.connect(service, company, "xero", "alice", [a!]);
    const [before] = await service.listConnections(company).then((all) => all.filter((v) => v.provider === "xero"));
    const oldSimGrant = (await h.sim.listGrants({ tenantId: a! }))[0]!.id;
    expect((await h.sim.getGrant(oldSimGrant))!.tenants.map((t) => t.tenantId).sort()).toEqual([a, b].sort());

    // A new consent reaches A and C: A moves to the new grant (same connection id), C is added,
    // and the old grant serves nothing: B (which the new grant does not serve) is disconnected, then its token revoked.
    await h.sim.updateSettings({ xeroTenants: [a, c].map((tenantId) => ({ tenantId: tenantId!, tenantName: tenantId! })) });
    await h.connect(service, company, "xero");
    expect((await h.sim.getGrant(oldSimGrant))!.tenants.map((t) => t.tenantId)).not.toContain(b);
    expect(await revokeRows()).toEqual([{ outcome: "SUCCESS", details: expect.objectContaining({ tenants: 1 }) as unknown }]);
    const after = (await service.listConnections(company)).filter((v) => v.provider === "xero");
    expect(after.map((v) => v.externalId).sort()).toEqual([a, c].sort());
    expect(after.find((v) => v.externalId === a)?.connectionId).toBe(before!.connectionId);
    expect((await service.checkConnection({ companyId: company, provider: "xero", tenantId: a! }, { userId: "alice" })).status).toBe("HEALTHY");
  });

  it("Xero: reconnecting the same organisation keeps its connection id; the old grant's refresh token is revoked, the new grant is untouched", async () => {
    await h.pinOrganisations(1);
    await h.connect(service, company, "xero");
    const [first] = (await service.listConnections(company)).filter((v) => v.provider === "xero");
    const old = await storedRefreshToken("xero");
    await h.connect(service, company, "xero");
    const current = await storedRefreshToken("xero");
    expect(current).not.toBe(old);
    expect((await service.listConnections(company)).filter((v) => v.provider === "xero").map((v) => v.connectionId)).toEqual([first!.connectionId]);
    // Whoever kept the old refresh token (or the value the disconnect rotated it to) gets nothing.
    expect(await refreshesAtSimulator("xero", old)).toBe(false);
    const grants = await h.sim.listGrants({});
    expect(grants.filter((g) => g.provider === "xero" && g.status === "active" && g.tenants.length === 0)).toEqual([]);
    expect(await h.db.prisma.pendingRevocation.count({ where: { companyId: company } })).toBe(0);
    expect((await service.checkConnection(company, "xero", { userId: "alice" })).status).toBe("HEALTHY");
    expect(await storedRefreshToken("xero")).toBe(current);
  });

  it("Xero: a grant that still serves another organisation is kept, not revoked; disconnecting its last connection revokes it", async () => {
    const [a, b] = await h.pinOrganisations(2);
    await h.connect(service, company, "xero");
    const oldSimGrant = (await h.sim.listGrants({ tenantId: a! }))[0]!.id;
    const connections = (await service.listConnections(company)).filter((v) => v.provider === "xero");
    const idOf = (tenant: string) => connections.find((v) => v.externalId === tenant)!.connectionId!;
    // A second consent, and the admin picks only B: B moves to the new grant, A stays on the old one.
    await h.connect(service, company, "xero", "alice", [b!]);
    expect(await revokeRows()).toEqual([]);
    expect((await h.sim.getGrant(oldSimGrant))!.status).toBe("active");
    const tokenA = await service.getValidToken({ connectionId: idOf(a!) });
    const tokenB = await service.getValidToken({ connectionId: idOf(b!) });
    expect(tokenA.accessToken).not.toBe(tokenB.accessToken);
    expect([tokenA.externalId, tokenB.externalId]).toEqual([a, b]);
    // A's grant serves nothing else: disconnecting A revokes it at the provider.
    const newSimGrant = (await h.sim.listGrants({ tenantId: b! })).find((g) => g.id !== oldSimGrant)!.id;
    await service.disconnect({ connectionId: idOf(a!) }, { userId: "alice" });
    expect((await h.sim.getGrant(oldSimGrant))!.status).not.toBe("active");
    expect((await h.sim.getGrant(newSimGrant))!.status).toBe("active");
    expect((await revokeRows()).map((r) => r.outcome)).toEqual(["SUCCESS"]);
    expect((await service.getValidToken({ connectionId: idOf(b!) })).externalId).toBe(b);
  });
});

/** A service whose clock reads `at`: retries become due without waiting. */
function serviceAt(at: number): TokenService {
  return h.service({}, silentLogger, { now: () => new Date(at) });
}
