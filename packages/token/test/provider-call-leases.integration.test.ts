// The limits' semaphore survives a crash: a process killed while it holds a call slot (no
// release ever comes) blocks the tenant only until the slot's lease ends; a live holder keeps
// its slot past the lease by renewing it. Redis and PostgreSQL.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createClient } from "redis";
import { openDatabase, type Database } from "@tokenvault/db";
import { LineProcess } from "@tokenvault/db/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { limitSettingsOf } from "../src/provider-calls/limits/call-limiter";
import { PostgresSlotStore } from "../src/provider-calls/limits/postgres-slots";
import { RedisSlotStore } from "../src/provider-calls/limits/redis-slots";
import type { SlotStore } from "../src/provider-calls/limits/slot-store";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const LEASE_MS = 1_500;
const settings = limitSettingsOf({ concurrency: 1, tenantConcurrency: 1, requestsPerMinute: null, requestsPerDay: null }, { leaseMs: LEASE_MS });
const scope = { provider: "xero", tenant: "org" };

describe.each(["redis", "postgres"] as const)("a crashed holder's slot (%s)", (backend) => {
  let store: SlotStore;
  let db: Database | null = null;
  let redis: { close(): Promise<unknown> } | null = null;
  const prefix = `lease-${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    if (backend === "redis") {
      const client = await createClient({ url: REDIS_URL }).connect();
      redis = client;
      store = new RedisSlotStore(client, false, prefix);
    }
    else store = new PostgresSlotStore((db = await openDatabase({ databaseUrl: inject("databaseUrl") })).prisma, prefix);
  });
  afterAll(async () => {
    await redis?.close();
    await db?.close();
  });

  it("is free again when its lease ends, not before", async () => {
    const holder = new LineProcess(join(import.meta.dirname, "slot-holder.ts"), {
      SLOT_BACKEND: backend,
      SLOT_REDIS_URL: REDIS_URL,
      SLOT_DATABASE_URL: inject("databaseUrl"),
      SLOT_PREFIX: prefix,
      SLOT_LEASE_MS: String(LEASE_MS),
    }, join(import.meta.dirname, ".."));
    expect(await holder.next<{ admitted: boolean }>(60_000)).toEqual({ admitted: true });
    const heldAt = Date.now();
    await holder.stop(); // it killed itself (SIGKILL) after the take: no release ever comes
    const take = (id: string) => store.tryTake({ scope, settings, id, count: 1, waiterTtlMs: 5_000 });
    expect((await take("after-crash")).admitted).toBe(0);
    let admittedAt = 0;
    while (!admittedAt) {
      if ((await take("after-crash")).admitted === 1) admittedAt = Date.now();
      else await new Promise((r) => setTimeout(r, 50));
      expect(Date.now() - heldAt).toBeLessThan(LEASE_MS + 5_000);
    }
    // The lease was counted from the take (before heldAt): free at most a poll after it ended, never long before.
    expect(admittedAt - heldAt).toBeGreaterThanOrEqual(LEASE_MS - 500);
    await store.release({ scope, settings, id: "after-crash:1" });
  }, 90_000);

  it("stays held past its first lease while its holder renews it, and can be taken again once it stops", async () => {
    const tenantScope = { provider: "xero", tenant: `renew-${randomUUID().slice(0, 8)}` };
    const take = (id: string) => store.tryTake({ scope: tenantScope, settings, id, count: 1, waiterTtlMs: 5_000 });
    expect((await take("holder")).admitted).toBe(1);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, LEASE_MS / 2));
      await store.renew({ scope: tenantScope, id: "holder:1", leaseMs: LEASE_MS });
    }
    // Twice its lease since the take: still held.
    expect((await take("other")).admitted).toBe(0);
    await store.leave(tenantScope, "other");
    await new Promise((r) => setTimeout(r, LEASE_MS + 200));
    // No renewal since: the lease ended, and a late renewal does not bring it back.
    await store.renew({ scope: tenantScope, id: "holder:1", leaseMs: LEASE_MS });
    expect((await take("other")).admitted).toBe(1);
    await store.release({ scope: tenantScope, settings, id: "other:1" });
  }, 30_000);
});
