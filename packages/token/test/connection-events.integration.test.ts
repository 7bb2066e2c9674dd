import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { silentLogger } from "../src/logger";
import { ConnectionEvents } from "../src/refresh/connection-events";
import { createHarness, type Harness } from "./harness";

// Waiters are woken by NOTIFY (sent by a trigger in the writing transaction), not by polling:
// every wait below would last a minute (past the test's timeout) if no notification came.
const NEVER_MS = 60_000;

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("connection events (LISTEN/NOTIFY)", () => {
  let h: Harness;
  let events: ConnectionEvents;
  beforeAll(async () => {
    h = await createHarness(inject("databaseUrl"));
    events = new ConnectionEvents(inject("databaseUrl"), silentLogger);
    await events.start();
  });
  afterAll(async () => {
    await events.close();
    await h.close();
  });

  async function connection() {
    const company = `ev-${randomUUID().slice(0, 8)}`;
    await h.connect(h.service(), company, "quickbooks");
    return h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company, provider: "quickbooks" } });
  }

  it("a version change wakes the connection's waiters when its transaction commits, and only theirs", async () => {
    const a = await connection();
    const b = await connection();
    const onA = events.waiter(a.id);
    const onB = events.waiter(b.id);
    let bWoke = false;
    void onB.wait(NEVER_MS).then(() => (bWoke = true));
    const woken = onA.wait(NEVER_MS);
    await h.db.prisma.$transaction(async (tx) => {
      await tx.oAuthGrant.update({ where: { id: a.id }, data: { version: { increment: 1 } } });
    });
    await woken;
    expect(bWoke).toBe(false);
    onB.cancel();
  });

  it("a write that rolls back wakes nobody; a lease given back does", async () => {
    const a = await connection();
    const rolledBack = events.waiter(a.id);
    let woke = false;
    void rolledBack.wait(NEVER_MS).then(() => (woke = true));
    await h.db.prisma
      .$transaction(async (tx) => {
        await tx.oAuthGrant.update({ where: { id: a.id }, data: { version: { increment: 1 } } });
        throw new Error("roll back");
      })
      .catch(() => undefined);
    // A later, committed change on another row is delivered; the rolled-back one never was.
    const other = await connection();
    const probe = events.waiter(other.id);
    const delivered = probe.wait(NEVER_MS);
    await h.db.prisma.oAuthGrant.update({ where: { id: other.id }, data: { version: { increment: 1 } } });
    await delivered;
    expect(woke).toBe(false);
    rolledBack.cancel();

    await h.db.prisma.oAuthGrant.update({ where: { id: a.id }, data: { leaseOwner: "someone", leaseExpiresAt: new Date(Date.now() + 60_000) } });
    const released = events.waiter(a.id).wait(NEVER_MS);
    await h.db.prisma.oAuthGrant.update({ where: { id: a.id }, data: { leaseOwner: null, leaseExpiresAt: null } });
    await released;
  });

  it("when the listener's backend is terminated it reports down, reconnects by itself and wakes waiters again", async () => {
    const a = await connection();
    expect(events.up).toBe(true);
    const waiting = events.waiter(a.id).wait(NEVER_MS);
    await h.db.prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tokenvault-listener' AND datname = current_database()`;
    await waiting; // the loss itself wakes waiters, so they poll instead of sleeping on a dead listener
    await until(() => events.up);
    const again = events.waiter(a.id).wait(NEVER_MS);
    await h.db.prisma.oAuthGrant.update({ where: { id: a.id }, data: { version: { increment: 1 } } });
    await again;
  });

  it("a caller waiting for another service's refresh is woken by its write, not by polling", async () => {
    // Both would sleep a minute between looks without the notification: long leases, long polls.
    const holder = h.service({ leaseMs: NEVER_MS, waitPollMs: NEVER_MS });
    const waiter = h.service({ leaseMs: NEVER_MS, waitPollMs: NEVER_MS });
    const a = await connection();
    await until(() => holder.listening && waiter.listening);
    await h.expire(a.companyId, "quickbooks");
    await h.sim.addFault({ kind: "latency", provider: "intuit", latencyMs: 500, count: 1 });
    const held = holder.getValidToken(a.companyId, "quickbooks", "alice");
    await until(async () => (await h.db.prisma.oAuthGrant.findUniqueOrThrow({ where: { id: a.id } })).leaseOwner !== null);
    const waited = await waiter.getValidToken(a.companyId, "quickbooks", "bob");
    expect(waited.accessToken).toBe((await held).accessToken);
  });
});
