// The database goes away under the worker: a TCP proxy of the test's own stands between the
// worker's token service and PostgreSQL and refuses its connections. A job must fail (so pg-boss
// retries it), never complete as "skipped", and nothing may be counted against the connection.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import { TcpProxy } from "@tokenvault/db/testing";
import { silentLogger, type TokenService } from "@tokenvault/token";
import { TokenvaultWorker } from "../src/worker";
import { createHarness, TEST_CONFIG, type Harness } from "./harness";

describe("the worker while the database refuses connections", () => {
  let h: Harness;
  let proxy: TcpProxy;
  let proxied: Database;
  let service: TokenService;
  beforeAll(async () => {
    h = await createHarness("dboutage");
    proxy = await TcpProxy.forUrl(h.databaseUrl);
    proxied = await openDatabase({ databaseUrl: proxy.urlFor(h.databaseUrl), pool: { connectTimeoutMs: 1_000, queryTimeoutMs: 1_000, max: 4 } });
    service = h.serviceOver(proxied.prisma);
  });
  afterAll(async () => {
    await service?.close();
    await proxied?.close();
    await proxy?.close();
    await h?.close();
  });

  it("fails a refresh job, the scan and a webhook delivery with VAULT_UNAVAILABLE (never 'skipped'), and refreshes once it is back", async () => {
    const connectionId = await h.connect("acme-db-down", "xero");
    // Its jobs are called directly: pg-boss is not started (its own pool would go through no proxy).
    const worker = new TokenvaultWorker({ target: { connectionString: h.databaseUrl }, service, config: TEST_CONFIG, logger: silentLogger });
    proxy.down();
    try {
      await expect(worker.jobs.refresh({ connectionId, reason: "keep-alive" })).rejects.toMatchObject({ code: "VAULT_UNAVAILABLE" });
      await expect(worker.jobs.refresh({ connectionId, reason: "refresh-ahead" })).rejects.toMatchObject({ code: "VAULT_UNAVAILABLE" });
      await expect(worker.jobs.scan()).rejects.toMatchObject({ code: "VAULT_UNAVAILABLE" });
      await expect(worker.companyWebhooks.deliver({ deliveryId: randomUUID() })).rejects.toMatchObject({ code: "VAULT_UNAVAILABLE" });
    } finally {
      proxy.restore();
    }
    const row = await h.grantOf(connectionId);
    expect([row.refreshFailureDays, row.incident]).toEqual([0, null]);
    await expect(worker.jobs.refresh({ connectionId, reason: "keep-alive" })).resolves.toBe("refreshed");
    await worker.stop(); // closes the pool pg-boss was given
  });
});
