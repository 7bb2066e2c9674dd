import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger, TokenError, TokenService, ProviderRegistry, simulatedAdapters } from "@tokenvault/token";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { QUEUES } from "../src/boss";
import { sendWebhook } from "../src/webhooks";
import { createHarness, eventually, startReceiver, type Harness, type Receiver } from "./harness";

/**
 * Per-company endpoints (issue 14): each event goes to every enabled endpoint of the
 * connection's company through pg-boss, with the same webhook-id on every attempt; the receiver
 * verifies every delivery with the standardwebhooks library; the delivery log follows each attempt.
 */
describe("company webhook endpoints", () => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await createHarness("company_webhooks");
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  const admin = { userId: "alice" };
  const deliveryRow = (id: string) => h.db.prisma.webhookDelivery.findUniqueOrThrow({ where: { id } });
  const received = (id: string) => receiver.verified.filter((d) => d.id === id);

  it("retries a test event answered 500 with the same webhook-id, and the log shows each attempt", async () => {
    const companyId = "acme-hooks";
    const { endpoint, secret } = await h.service.webhooks.endpoints.create({ companyId, url: receiver.url, secret: receiver.secret }, admin);
    expect(secret).toBe(receiver.secret);
    const worker = h.worker();
    await worker.start({ schedule: false });
    receiver.failNext = 2;

    // Recorded by the web process's call; the worker's outbox poll queues it.
    const test = await h.service.webhooks.deliveries.sendTest(companyId, endpoint.id, admin);
    await eventually(async () => ((await deliveryRow(test.id)).deliveredAt ? true : undefined), 30_000, "the test event delivered");
    const attempts = received(test.id);
    expect(attempts).toHaveLength(3);
    expect(attempts.every((d) => d.type === "webhook.test")).toBe(true);
    expect(receiver.rejected).toBe(0);
    const log = await deliveryRow(test.id);
    expect([log.attempts, log.lastStatus, log.lastError, log.nextAttemptAt, log.queuedAt !== null]).toEqual([3, 204, null, null, true]);
    // One pg-boss job for the delivery, its id the webhook-id, with the configured backoff.
    const [job] = await h.sql<{ retry_limit: number; retry_backoff: boolean; retry_count: number }>(
      `SELECT retry_limit, retry_backoff, retry_count FROM pgboss.job WHERE name = $1 AND id = $2 UNION ALL SELECT retry_limit, retry_backoff, retry_count FROM pgboss.archive WHERE name = $1 AND id = $2`,
      [QUEUES.companyWebhook, test.id],
    );
    expect(job).toMatchObject({ retry_limit: 3, retry_backoff: true, retry_count: 2 });
    expect(JSON.stringify(log.payload)).not.toContain(secret.slice(6));

    // Queueing a row again (as after a crash between sending the job and marking the row) makes no second job.
    await h.db.prisma.webhookDelivery.update({ where: { id: test.id }, data: { queuedAt: null } });
    await eventually(async () => {
      await worker.companyWebhooks.pump();
      return (await deliveryRow(test.id)).queuedAt ? true : undefined;
    }, 10_000, "the row queued again");
    const jobs = await h.sql(`SELECT id FROM pgboss.job WHERE name = $1 AND id = $2 UNION ALL SELECT id FROM pgboss.archive WHERE name = $1 AND id = $2`, [QUEUES.companyWebhook, test.id]);
    expect(jobs).toHaveLength(1);
    expect(received(test.id)).toHaveLength(3);
    await worker.stop();
  });

  it("sends connection.created from a connect, refresh_failed from the worker and connection.disconnected from a disconnect to every enabled endpoint", async () => {
    const companyId = "acme-events";
    const other = await startReceiver();
    try {
      await h.service.webhooks.endpoints.create({ companyId, url: receiver.url, secret: receiver.secret }, admin);
      const paused = await h.service.webhooks.endpoints.create({ companyId, url: other.url, secret: other.secret }, admin);
      await h.service.webhooks.endpoints.setEnabled(companyId, paused.endpoint.id, false, admin);
      const connectionId = await h.connect(companyId, "xero");
      const grantId = await h.newestGrantId("xero");
      const fault = await h.sim.addFault({ kind: "error", provider: "xero", grantId, status: 503 });
      const worker = h.worker();
      await worker.start({ schedule: false });

      await expect(worker.jobs.refresh({ connectionId, reason: "keep-alive" })).rejects.toBeInstanceOf(TokenError);
      await h.sim.removeFault(fault.id);
      await h.service.disconnect(companyId, "xero", admin);

      const types = () => receiver.verified.filter((d) => d.data.companyId === companyId).map((d) => d.type);
      await eventually(() => Promise.resolve(types().length >= 3 ? true : undefined), 30_000, "three events");
      expect(types()).toEqual(["connection.created", "connection.refresh_failed", "connection.disconnected"]);
      const created = receiver.verified.find((d) => d.type === "connection.created" && d.data.companyId === companyId)!;
      expect(created.data).toMatchObject({ connectionId, companyId, provider: "xero", source: "consent" });
      const disconnected = receiver.verified.find((d) => d.type === "connection.disconnected" && d.data.companyId === companyId)!;
      expect(disconnected.data).toMatchObject({ connectionId, companyId, provider: "xero" });
      expect(JSON.stringify(receiver.verified)).not.toMatch(/access_token|refresh_token|ey[A-Za-z0-9_-]{20,}/);
      // The paused endpoint got nothing, and no row was recorded for it.
      expect(other.verified).toHaveLength(0);
      expect(await h.db.prisma.webhookDelivery.count({ where: { endpointId: paused.endpoint.id } })).toBe(0);
      const log = await h.service.webhooks.deliveries.list(companyId);
      expect(log.map((d) => [d.eventType, d.attempts, d.lastStatus])).toEqual([
        ["connection.disconnected", 1, 204],
        ["connection.refresh_failed", 1, 204],
        ["connection.created", 1, 204],
      ]);
      await worker.stop();
    } finally {
      await other.close();
    }
  });

  it("in production refuses a loopback URL when saved (nothing stored) and again when delivering (a URL saved where private targets were allowed)", async () => {
    const production = new TokenService({
      prisma: h.db.prisma,
      vault: new Vault(createKeyRing(randomBytes(32))),
      providers: new ProviderRegistry(simulatedAdapters(h.sim.url)),
      logger: silentLogger,
    });
    const companyId = "acme-prod";
    for (const url of [receiver.url, "http://localhost:9/x", "http://[::1]/x", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "ftp://example.com/"]) {
      await expect(production.webhooks.endpoints.create({ companyId, url }, admin)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    }
    expect(await h.db.prisma.webhookEndpoint.count({ where: { companyId } })).toBe(0);
    await production.close();

    // Saved while private targets were allowed; a production worker still refuses to connect.
    const { endpoint } = await h.service.webhooks.endpoints.create({ companyId, url: receiver.url, secret: receiver.secret }, admin);
    const before = receiver.verified.length;
    const worker = h.worker({ allowPrivateWebhookTargets: false, webhookRetryLimit: 0 });
    await worker.start({ schedule: false });
    const test = await h.service.webhooks.deliveries.sendTest(companyId, endpoint.id, admin);
    const log = await eventually(async () => {
      const row = await deliveryRow(test.id);
      return row.attempts > 0 ? row : undefined;
    }, 30_000, "the refused attempt");
    expect([log.attempts, log.lastStatus, log.deliveredAt, log.nextAttemptAt]).toEqual([1, 0, null, null]);
    expect(log.lastError).toMatch(/refused/);
    expect(receiver.verified.length).toBe(before);
    await worker.stop();
  });

  it("refuses at connection time a host name that resolved to a public address when checked and to loopback when connecting (DNS rebinding)", async () => {
    const port = new URL(receiver.url).port;
    let lookups = 0;
    const rebinding = {
      allowPrivateNetworks: false,
      lookupAll: () => Promise.resolve([{ address: lookups++ === 0 ? "203.0.113.10" : "127.0.0.1", family: 4 }]),
    };
    const payload = { type: "webhook.test" as const, timestamp: new Date().toISOString(), data: { companyId: "acme-rebind" } };
    const before = receiver.verified.length;
    await expect(sendWebhook({ url: `http://rebind.example:${port}/hooks`, secret: receiver.secret }, "msg_rebind", payload, rebinding)).rejects.toMatchObject({ status: 0, message: expect.stringMatching(/address is refused/) as unknown });
    expect(lookups).toBe(2);
    expect(receiver.verified.length).toBe(before);
    // The same name resolving to loopback both times, with private targets allowed (development): delivered.
    const development = { allowPrivateNetworks: true, lookupAll: () => Promise.resolve([{ address: "127.0.0.1", family: 4 }]) };
    await expect(sendWebhook({ url: `http://rebind.example:${port}/hooks`, secret: receiver.secret }, "msg_local", payload, development)).resolves.toBe(204);
    expect(received("msg_local")).toHaveLength(1);
  });
});
