import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLogQuery } from "@tokenvault/token/audit";
import { createCaller } from "~/server/api/root";
import { createContext, type ContextDeps } from "~/server/api/trpc";
import type { Caller } from "~/server/auth/caller";
import { RequestLimits } from "~/server/limits/request-limits";
import { alice, bob, carol, startRouterHarness, type RouterHarness } from "./router-harness";
import { codeOf } from "./trpc-code";
import { PickerOffers } from "~/server/api/picker-offers";

// The webhook router through the server-side caller, on a real token service and PostgreSQL,
// with production's URL rules (private targets refused).
const PUBLIC_URL = "https://203.0.113.10/hooks/tokenvault";

describe("webhook router", () => {
  let h: RouterHarness;
  beforeAll(async () => {
    h = await startRouterHarness({ database: "webhook_router" });
  });
  afterAll(() => h.close());

  it("keeps members and anonymous callers out of every procedure", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    for (const [caller, code] of [
      [bob, "FORBIDDEN"],
      [null, "UNAUTHORIZED"],
    ] as const) {
      const client = await h.api(caller);
      expect(await codeOf(client.webhook.list())).toBe(code);
      expect(await codeOf(client.webhook.create({ url: PUBLIC_URL }))).toBe(code);
      expect(await codeOf(client.webhook.setEnabled({ id, enabled: false }))).toBe(code);
      expect(await codeOf(client.webhook.remove({ id }))).toBe(code);
      expect(await codeOf(client.webhook.sendTest({ id }))).toBe(code);
      expect(await codeOf(client.webhook.deliveries())).toBe(code);
    }
    expect(await h.db.prisma.webhookEndpoint.count()).toBe(0);
  });

  it("answers a generated secret once; the list, the delivery log and the audit rows never carry it; the row holds it sealed", async () => {
    const admin = await h.api(alice);
    const { endpoint, secret } = await admin.webhook.create({ url: PUBLIC_URL });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint).toMatchObject({ url: PUBLIC_URL, enabled: true, createdBy: "alice" });

    const test = await admin.webhook.sendTest({ id: endpoint.id });
    expect(test).toMatchObject({ endpointId: endpoint.id, eventType: "webhook.test", attempts: 0, lastStatus: null, deliveredAt: null });
    const answers = JSON.stringify([await admin.webhook.list(), await admin.webhook.deliveries(), await admin.webhook.setEnabled({ id: endpoint.id, enabled: true })]);
    const rows = JSON.stringify([await h.db.prisma.webhookDelivery.findMany(), await h.db.prisma.auditLog.findMany(), await h.db.prisma.webhookEndpoint.findMany()]);
    const key = secret.slice("whsec_".length);
    for (const text of [answers, rows]) expect(text).not.toContain(key);
    expect(answers).not.toMatch(/tv1\.|sealed/);

    // Sealed, bound to its row: it opens there and nowhere else.
    const row = await h.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(h.vault.open(row.sealed, { companyId: "acme", provider: "webhook", kind: "WEBHOOK_ENDPOINT", externalId: endpoint.id })).toBe(secret);
    expect(() => h.vault.open(row.sealed, { companyId: "globex", provider: "webhook", kind: "WEBHOOK_ENDPOINT", externalId: endpoint.id })).toThrow();
    const audited = await h.db.prisma.auditLog.findMany({ where: { companyId: "acme", connectionType: "webhook" }, orderBy: { timestamp: "asc" } });
    expect(audited.map((a) => [a.action, a.userId, a.requestMethod])).toEqual([
      ["SECRET_WRITE", "alice", "POST"],
      ["SECRET_WRITE", "alice", "PATCH"],
    ]);
  });

  it("takes an admin's own Standard Webhooks secret, and refuses a malformed one", async () => {
    const admin = await h.api(alice);
    const own = `whsec_${randomBytes(24).toString("base64")}`;
    expect((await admin.webhook.create({ url: `${PUBLIC_URL}/own`, secret: own })).secret).toBe(own);
    const before = await h.db.prisma.webhookEndpoint.count();
    for (const secret of ["whsec_short", "not-a-secret", `whsec_${randomBytes(80).toString("base64")}`]) {
      expect(await codeOf(admin.webhook.create({ url: `${PUBLIC_URL}/bad`, secret }))).toBe("BAD_REQUEST");
    }
    expect(await h.db.prisma.webhookEndpoint.count()).toBe(before);
  });

  it("refuses non-http(s), loopback, link-local and private URLs in production, storing nothing", async () => {
    const admin = await h.api(alice);
    const before = await h.db.prisma.webhookEndpoint.count();
    for (const url of ["ftp://203.0.113.10/x", "http://127.0.0.1:3000/x", "http://[::1]/x", "http://169.254.169.254/latest", "http://192.168.0.10/x", "http://[fd00::1]/x", "http://[::ffff:10.0.0.1]/x", "not a url",
      // IPv6 spellings that embed loopback: IPv4-compatible, SIIT, local-use NAT64, 6to4.
      "http://[::127.0.0.1]/x", "http://[::ffff:0:127.0.0.1]/x", "http://[64:ff9b:1::7f00:1]/x", "http://[2002:7f00:1::]/x"]) {
      expect(await codeOf(admin.webhook.create({ url }))).toBe("BAD_REQUEST");
    }
    expect(await h.db.prisma.webhookEndpoint.count()).toBe(before);
  });

  it("scopes endpoints and deliveries to the caller's company", async () => {
    const acme = await h.api(alice);
    const [endpoint] = await acme.webhook.list();
    const globex = await h.api(carol);
    expect(await globex.webhook.list()).toEqual([]);
    expect(await globex.webhook.deliveries()).toEqual([]);
    expect(await codeOf(globex.webhook.sendTest({ id: endpoint!.id }))).toBe("NOT_FOUND");
    expect(await codeOf(globex.webhook.setEnabled({ id: endpoint!.id, enabled: false }))).toBe("NOT_FOUND");
    expect(await codeOf(globex.webhook.remove({ id: endpoint!.id }))).toBe("NOT_FOUND");
    expect(await codeOf(globex.webhook.remove({ id: "not-a-uuid" }))).toBe("BAD_REQUEST");

    // Paused: no test event; removed: gone, its delivery log kept.
    await acme.webhook.setEnabled({ id: endpoint!.id, enabled: false });
    expect(await codeOf(acme.webhook.sendTest({ id: endpoint!.id }))).toBe("BAD_REQUEST");
    await acme.webhook.remove({ id: endpoint!.id });
    expect((await acme.webhook.list()).map((e) => e.id)).not.toContain(endpoint!.id);
    expect((await acme.webhook.deliveries()).some((d) => d.endpointId === endpoint!.id)).toBe(true);
  });

  it("creates at most the cap of endpoints per company, however many creates run at once", async () => {
    const zed: Caller = { userId: "zed", companyId: "initech", role: "admin", name: "Zed" };
    const admin = await h.api(zed);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => admin.webhook.create({ url: `${PUBLIC_URL}/${i}` })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
    const refusals = await Promise.all(results.filter((r) => r.status === "rejected").map((r) => codeOf(Promise.reject(r.reason as Error))));
    expect(refusals).toEqual(Array.from({ length: 10 }, () => "BAD_REQUEST"));
    expect(await h.db.prisma.webhookEndpoint.count({ where: { companyId: "initech" } })).toBe(10);
    // Removing one makes room for one.
    const [first] = await admin.webhook.list();
    await admin.webhook.remove({ id: first!.id });
    await admin.webhook.create({ url: `${PUBLIC_URL}/again` });
    expect(await codeOf(admin.webhook.create({ url: `${PUBLIC_URL}/over` }))).toBe("BAD_REQUEST");
  });

  it("limits an admin's webhook changes per minute, like checks and connects", async () => {
    const limits = await RequestLimits.create({ checksPerMinute: 30, connectsPerMinute: 10, webhookChangesPerMinute: 3 }, "test-limit-key-secret", { kind: "memory" });
    const dan: Caller = { userId: "dan", companyId: "umbrella", role: "admin", name: "Dan" };
    const limitedDeps: ContextDeps = { resolveSession: () => Promise.resolve(dan), services: () => Promise.resolve({ tokenService: h.service, auditLog: new AuditLogQuery(h.db.prisma), pickerOffers: new PickerOffers("unused here"), limits }) };
    const admin = createCaller(await createContext(limitedDeps, { headers: new Headers() }));
    const { endpoint } = await admin.webhook.create({ url: `${PUBLIC_URL}/limited` });
    await admin.webhook.setEnabled({ id: endpoint.id, enabled: false });
    await admin.webhook.setEnabled({ id: endpoint.id, enabled: true });
    expect(await codeOf(admin.webhook.sendTest({ id: endpoint.id }))).toBe("TOO_MANY_REQUESTS");
    expect(await codeOf(admin.webhook.create({ url: `${PUBLIC_URL}/more` }))).toBe("TOO_MANY_REQUESTS");
    // Reading is not limited.
    expect(await admin.webhook.list()).toHaveLength(1);
  });
});
