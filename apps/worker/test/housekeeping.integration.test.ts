import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresTokenStore } from "@tokenvault/store";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { QUEUES } from "../src/boss";
import { createHarness, eventually, MovableClock, type Harness } from "./harness";

const DAY = 86_400_000;

/**
 * Housekeeping: audit retention through purge_audit_log (off by default), the token store's
 * cleanup, expired OAuth states, the webhook delivery log's retention; and the scheduled retry of revocations a reconnect could not complete.
 */
describe("housekeeping", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness("housekeeping");
  });
  afterAll(async () => h.close());

  const auditRow = (companyId: string, timestamp: Date) =>
    h.db.prisma.auditLog.create({
      data: { companyId, userId: "alice", action: "CHECK", outcome: "SUCCESS", connectionType: "xero", apiEndpoint: "/check", requestMethod: "GET", responseStatus: 200, timestamp },
    });

  it("keeps every audit row by default and purges rows older than the retention when configured", async () => {
    await auditRow("acme-audit", new Date(Date.now() - 400 * DAY));
    await auditRow("acme-audit", new Date(Date.now() - 10 * DAY));
    const kept = h.worker();
    expect(await kept.jobs.housekeeping()).toMatchObject({ storeRemoved: null, auditPurged: null });
    expect(await h.db.prisma.auditLog.count({ where: { companyId: "acme-audit" } })).toBe(2);

    const purging = h.worker({ auditRetentionDays: 365 });
    expect((await purging.jobs.housekeeping()).auditPurged).toBe(1);
    const left = await h.db.prisma.auditLog.findMany({ where: { companyId: "acme-audit" } });
    expect(left).toHaveLength(1);
    expect(left[0]!.timestamp.getTime()).toBeGreaterThan(Date.now() - 11 * DAY);
  });

  it("removes expired token store entries through the store's own cleanup", async () => {
    const clock = new MovableClock();
    const store = createPostgresTokenStore(h.db.prisma, { vault: new Vault(createKeyRing(randomBytes(32))), namespace: "housekeeping", clock });
    await store.store("token-short-lived-0001", { id: "short", subject: "svc", expiresAt: new Date(Date.now() + 60_000) });
    await store.store("token-long-lived-00002", { id: "long", subject: "svc", expiresAt: new Date(Date.now() + 3 * DAY) });
    clock.advanceDays(1);
    const worker = h.worker({}, clock, () => store.cleanup());
    expect((await worker.jobs.housekeeping()).storeRemoved).toBe(1);
    const rows = await h.sql<{ n: number }>(`SELECT count(*)::int AS n FROM "TokenStoreEntry" WHERE namespace = 'housekeeping'`);
    expect(rows[0]!.n).toBe(1);
  });

  it("removes finished webhook deliveries past the log's retention, never one still being retried", async () => {
    const { endpoint } = await h.service.webhooks.endpoints.create({ companyId: "acme-log", url: "http://127.0.0.1:9/hooks" }, { userId: "alice" });
    const row = (createdAt: Date, finished: boolean) =>
      h.db.prisma.webhookDelivery.create({
        data: { id: randomUUID(), endpointId: endpoint.id, companyId: "acme-log", eventType: "webhook.test", payload: {}, attempts: 1, createdAt, nextAttemptAt: finished ? null : new Date() },
      });
    const old = await row(new Date(Date.now() - 31 * DAY), true);
    const stillRetried = await row(new Date(Date.now() - 31 * DAY), false);
    const recent = await row(new Date(Date.now() - 29 * DAY), true);
    expect((await h.worker().jobs.housekeeping()).webhookDeliveriesPurged).toBe(1);
    const left = await h.db.prisma.webhookDelivery.findMany({ where: { companyId: "acme-log" } });
    expect(left.map((d) => d.id).sort()).toEqual([stillRetried.id, recent.id].sort());
    expect(left.map((d) => d.id)).not.toContain(old.id);
  });

  it("purges expired OAuth states and keeps the ones still in use", async () => {
    const companyId = "acme-states";
    // Both consents begun first: each one also purges a small batch of expired states itself.
    await h.service.getAuthorizationUrl({ companyId, provider: "xero", userId: "alice" });
    await h.service.getAuthorizationUrl({ companyId, provider: "xero", userId: "alice" });
    const [expired] = await h.db.prisma.oAuthState.findMany({ where: { companyId } });
    // An abandoned consent: its state expired a minute ago, never used.
    await h.db.prisma.oAuthState.update({ where: { id: expired!.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });

    const { oauthStatesPurged } = await h.worker().jobs.housekeeping();
    expect(oauthStatesPurged).toBeGreaterThanOrEqual(1);
    const left = await h.db.prisma.oAuthState.findMany({ where: { companyId } });
    expect(left).toHaveLength(1);
    expect(left[0]!.id).not.toBe(expired!.id);
    expect(left[0]!.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it("retries a pending revocation on its schedule: revoked at the provider, then removed", async () => {
    const companyId = "acme-revocation";
    // The user's one QuickBooks company, offered on every consent: the second connect reconnects it.
    await h.sim.updateSettings({ intuitRealmIds: ["9130350000000042"] });
    try {
      await h.connect(companyId, "quickbooks");
    } catch (error) {
      await h.sim.updateSettings({ intuitRealmIds: null });
      throw error;
    }
    const oldGrant = await h.newestGrantId("intuit");
    // The provider refuses the revocation during the reconnect: the old grant is kept pending.
    const fault = await h.sim.addFault({ kind: "error", provider: "intuit", endpoint: "revoke", status: 503 });
    await h.connect(companyId, "quickbooks").finally(() => h.sim.updateSettings({ intuitRealmIds: null }));
    await h.sim.removeFault(fault.id);
    const [pending] = await h.db.prisma.pendingRevocation.findMany({ where: { companyId } });
    expect(pending).toMatchObject({ provider: "quickbooks", attempts: 1 });
    expect((await h.sim.getGrant(oldGrant))!.status).toBe("active");

    const worker = h.worker();
    await worker.start({ schedule: false });
    // Not due yet (a minute's back-off): the job attempts nothing and drops nothing.
    expect(await worker.jobs.retryRevocations()).toEqual({ attempted: 0, revoked: 0, failed: 0 });
    expect(await h.db.prisma.pendingRevocation.count({ where: { companyId } })).toBe(1);

    // Its back-off over, the scheduled job (through pg-boss) revokes it.
    await h.db.prisma.pendingRevocation.update({ where: { id: pending!.id }, data: { nextAttemptAt: new Date(Date.now() - 1_000) } });
    await worker.boss.send(QUEUES.revocations, {});
    await eventually(async () => ((await h.db.prisma.pendingRevocation.count({ where: { companyId } })) === 0 ? true : undefined), 30_000, "the revocation retry");
    expect((await h.sim.getGrant(oldGrant))!.status).toBe("revoked");
    const revokes = await h.db.prisma.auditLog.findMany({ where: { companyId, action: "REVOKE" }, orderBy: { timestamp: "asc" } });
    expect(revokes.map((r) => r.outcome)).toEqual(["FAILURE", "SUCCESS"]);
    const [job] = await h.sql<{ output: { revoked?: number } }>(
      `SELECT output FROM pgboss.job WHERE name = $1 AND state = 'completed' UNION ALL SELECT output FROM pgboss.archive WHERE name = $1`,
      [QUEUES.revocations],
    );
    expect(job?.output.revoked).toBe(1);
    await worker.stop();
  });
});
