import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUES } from "../src/boss";
import { createHarness, eventually, MovableClock, startReceiver, type Harness, type Receiver } from "./harness";

const DAY = 86_400_000;

/**
 * Intuit's hard expiry: asked for with x-include-refresh-token-hard-expires-in, stored, shown in
 * the connection view, and warned about 30 and 7 days before, each once, by signed webhook.
 */
describe("the hard-expiry horizon", () => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await createHarness("horizon");
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  const metadataOf = async (id: string) => (await h.grantOf(id)).metadata as { refreshTokenHardExpiresAt?: string };
  const warnings = async (connectionId: string) =>
    h.sql(`SELECT id FROM pgboss.job WHERE name = $1 AND data->'data'->>'connectionId' = $2 AND data->>'type' = 'connection.reauthorization_due'`, [QUEUES.webhook, connectionId]);

  it("stores the hard expiry, shows Reconnect before DATE within 30 days, and warns at 30 and 7 days once each", async () => {
    const companyId = "acme-horizon";
    const connectionId = await h.connect(companyId, "quickbooks");
    // The code exchange asked for it: about five years from now.
    const initial = Date.parse((await metadataOf(connectionId)).refreshTokenHardExpiresAt!);
    expect(Math.abs(initial - (Date.now() + 5 * 365 * DAY))).toBeLessThan(2 * DAY);
    let view = (await h.service.listConnections(companyId)).find((c) => c.provider === "quickbooks")!;
    expect(view.refreshTokenHardExpiresAt?.getTime()).toBe(initial);
    expect(view.reconnectBefore).toBeNull();

    // Twenty days before the end on the provider's clock, the grant used every 90 days (its idle
    // limit is 100): each refresh reports what is left of the five years.
    for (let left = 5 * 365 * DAY - 20 * DAY; left > 0; left -= 90 * DAY) {
      await h.sim.advanceClock(Math.min(left, 90 * DAY));
      await h.service.refreshNow(companyId, "quickbooks", { userId: "alice" });
    }
    const hard = new Date((await metadataOf(connectionId)).refreshTokenHardExpiresAt!);
    expect(Math.abs(hard.getTime() - (Date.now() + 20 * DAY))).toBeLessThan(60_000);
    view = (await h.service.listConnections(companyId)).find((c) => c.provider === "quickbooks")!;
    expect(view.reconnectBefore).toEqual(hard);

    const clock = new MovableClock();
    const worker = h.worker({ webhook: { url: receiver.url, secret: receiver.secret }, refreshAheadMs: 0 }, clock);
    await worker.start({ schedule: false });
    await worker.jobs.scan();
    await worker.jobs.scan();
    expect(await warnings(connectionId)).toHaveLength(1);
    clock.advanceDays(14);
    await worker.jobs.scan();
    await worker.jobs.scan();
    expect(await warnings(connectionId)).toHaveLength(2);

    const delivered = await eventually(() => Promise.resolve(receiver.verified.length >= 2 ? receiver.verified : undefined), 30_000, "two warnings");
    expect(delivered.map((d) => [d.type, d.data.daysLeft, d.data.reconnectBefore])).toEqual([
      ["connection.reauthorization_due", 20, hard.toISOString()],
      ["connection.reauthorization_due", 6, hard.toISOString()],
    ]);
    expect(receiver.rejected).toBe(0);
    await worker.stop();
  });
});
