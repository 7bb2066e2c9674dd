import { describe, expect, it } from "vitest";
import type { TokenService } from "../src/token-service";
import { refusal, useHarness, type Harness } from "./harness";

// Pausing a connection without deleting it (issue 24 item 6): reads refused with
// CONNECTION_DISABLED, the worker's refresh skipped unless another enabled connection shares the
// grant, nothing revoked, audited and announced; resuming serves the same grant again.

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

const alice = { userId: "alice" };
const viewsOf = async (provider: string) => (await service.listConnections(company)).filter((v) => v.provider === provider && v.connected);

async function withEndpoint(): Promise<void> {
  await service.webhooks.endpoints.create({ companyId: company, url: "https://203.0.113.10/hooks" }, alice);
}

describe("a paused connection", () => {
  it("refuses getValidToken, fetch, getOAuthClient, check and refreshNow with CONNECTION_DISABLED, revokes nothing, and serves the same grant once resumed", async () => {
    const realm = await h.pinRealm();
    await withEndpoint();
    await h.connect(service, company, "quickbooks");
    const [view] = await viewsOf("quickbooks");
    const connectionId = view!.connectionId!;
    const before = await service.getValidToken({ connectionId });
    const [simGrant] = await h.sim.listGrants({ realmId: realm });

    const paused = await service.disableConnection({ connectionId, companyId: company }, alice);
    expect(paused).toMatchObject({ connectionId, disabledBy: "alice" });
    expect(paused.disabledAt).toBeInstanceOf(Date);
    // A second pause changes nothing: no second audit row, no second event.
    await service.disableConnection({ connectionId }, { userId: "bob" });

    for (const attempt of [
      () => service.getValidToken({ connectionId }),
      () => service.getValidToken(company, "quickbooks", "alice"),
      () => service.fetch({ connectionId }, `companyinfo/${realm}`),
      () => service.getOAuthClient({ connectionId }),
      () => service.checkConnection({ connectionId }, alice),
      () => service.refreshNow({ connectionId }, alice),
    ]) {
      const error = await refusal(attempt());
      expect(error.code).toBe("CONNECTION_DISABLED");
      expect(error.message).not.toContain(before.accessToken);
    }
    // Nothing was revoked at the provider, and the stored grant is untouched.
    expect((await h.sim.getGrant(simGrant!.id))!.status).toBe("active");
    expect((await h.sim.getGrant(simGrant!.id))!.counters.refreshSuccess).toBe(0);
    const [shown] = await viewsOf("quickbooks");
    expect(shown).toMatchObject({ connectionId, disabled: true, disabledBy: "alice", nextRefreshAt: null });

    const resumed = await service.enableConnection({ connectionId }, { userId: "bob" });
    expect(resumed).toMatchObject({ connectionId, disabledAt: null, disabledBy: null });
    expect((await service.getValidToken({ connectionId })).accessToken).toBe(before.accessToken);
    expect((await viewsOf("quickbooks"))[0]).toMatchObject({ disabled: false });

    const rows = await h.db.prisma.auditLog.findMany({ where: { companyId: company, action: { in: ["DISABLE", "ENABLE"] } }, orderBy: { timestamp: "asc" } });
    expect(rows.map((r) => [r.action, r.userId, r.connectionId])).toEqual([
      ["DISABLE", "alice", connectionId],
      ["ENABLE", "bob", connectionId],
    ]);
    const deliveries = await h.db.prisma.webhookDelivery.findMany({ where: { companyId: company }, orderBy: { createdAt: "asc" } });
    // The connect's own event first (connection.created), then the pause and the resume.
    expect(deliveries.map((d) => d.eventType)).toEqual(["connection.created", "connection.disabled", "connection.enabled"]);
    expect(deliveries[1]!.payload).toMatchObject({ type: "connection.disabled", data: { connectionId, companyId: company, provider: "quickbooks", externalId: realm, actor: "alice" } });
    // The refused reads are in the audit log with their code (queued rows: flushed first).
    await service.close();
    const refusedReads = await h.db.prisma.auditLog.findMany({ where: { companyId: company, action: "TOKEN_READ", outcome: "FAILURE" } });
    expect(refusedReads.length).toBeGreaterThan(0);
    expect(refusedReads.every((r) => (r.details as { errorCode?: string }).errorCode === "CONNECTION_DISABLED" && r.responseStatus === 409)).toBe(true);
    service = h.service();
  });

  it("a token cached by another process is dropped when the connection is paused there (the connection channel)", async () => {
    await h.connect(service, company, "xero");
    const [view] = await viewsOf("xero");
    const connectionId = view!.connectionId!;
    // A stall bound this long: the cache serves whenever it holds the token, so only the NOTIFY can make it stop.
    const cached = h.service({ tokenCache: true, tokenCacheStallMs: 600_000 });
    await expect.poll(() => cached.listening, { timeout: 5_000 }).toBe(true);
    await cached.getValidToken({ connectionId });
    await cached.getValidToken({ connectionId });
    expect(cached.cachingTokens).toBe(true);

    await service.disableConnection({ connectionId }, alice);
    await expect.poll(async () => (await refusal(cached.getValidToken({ connectionId }))).code, { timeout: 5_000 }).toBe("CONNECTION_DISABLED");
    await service.enableConnection({ connectionId }, alice);
    await expect.poll(async () => (await cached.getValidToken({ connectionId }).catch(() => null))?.connectionId, { timeout: 5_000 }).toBe(connectionId);
  });

  it("the worker's refresh skips a grant whose connections are all paused, and keeps a shared grant alive while any of its connections is enabled", async () => {
    const tenants = await h.pinOrganisations(2);
    await h.connect(service, company, "xero");
    const [first, second] = await viewsOf("xero");
    expect([first!.externalId, second!.externalId].sort()).toEqual([...tenants].sort());
    const [simGrant] = await h.sim.listGrants({ tenantId: tenants[0]! });
    const refreshes = async () => (await h.sim.getGrant(simGrant!.id))!.counters.refreshSuccess;

    // One of two paused: the grant is still kept alive (the other organisation needs it), and pausing one warns of nothing.
    await service.disableConnection({ connectionId: first!.connectionId! }, alice);
    expect((await viewsOf("xero")).find((v) => v.connectionId === first!.connectionId)!.idleExpiryIfPaused).toBeNull();
    const kept = await service.refreshConnection(first!.connectionId!, "keep-alive", { context: { userId: "system:worker" } });
    expect(kept.outcome).toBe("refreshed");
    expect(kept.connection.paused).toBe(false);
    expect(await refreshes()).toBe(1);

    // Both paused: skipped before any lease or provider call; the dashboard says when the grant idles out.
    await service.disableConnection({ connectionId: second!.connectionId! }, alice);
    const skipped = await service.refreshConnection(second!.connectionId!, "keep-alive", { context: { userId: "system:worker" } });
    expect(skipped.outcome).toBe("skipped");
    expect(skipped.connection.paused).toBe(true);
    expect(await refreshes()).toBe(1);
    const idle = (await viewsOf("xero")).map((v) => v.idleExpiryIfPaused);
    expect(idle.every((d) => d instanceof Date && d.getTime() > Date.now())).toBe(true);
    expect((await service.upkeep.listByIds([kept.connection.grantId]))[0]!.paused).toBe(true);

    // Resumed: refreshed again.
    await service.enableConnection({ connectionId: second!.connectionId! }, alice);
    expect((await service.refreshConnection(second!.connectionId!, "keep-alive", { context: { userId: "system:worker" } })).outcome).toBe("refreshed");
    expect(await refreshes()).toBe(2);
  });

  it("another company's connection id is NOT_FOUND and nothing changes", async () => {
    await h.connect(service, company, "quickbooks");
    const [view] = await viewsOf("quickbooks");
    const connectionId = view!.connectionId!;
    for (const attempt of [
      () => service.disableConnection({ connectionId, companyId: "co-other" }, alice),
      () => service.updateConnection({ connectionId, companyId: "co-other" }, { name: "Mine" }, alice),
    ]) {
      expect((await refusal(attempt())).code).toBe("NOT_FOUND");
    }
    expect((await viewsOf("quickbooks"))[0]).toMatchObject({ disabled: false, customName: null });
    expect(await h.db.prisma.auditLog.count({ where: { action: { in: ["DISABLE", "UPDATE"] }, connectionId } })).toBe(0);
  });
});
