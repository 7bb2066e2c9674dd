import { describe, expect, it } from "vitest";
import { ProviderCallError } from "../call-errors";
import { limitSettingsOf } from "./call-limiter";
import { MemorySlotStore } from "./memory-slots";
import { QueuedLimiter } from "./queued-limiter";

const scope = { provider: "xero", tenant: "org-1" };
const base = { concurrency: 5, tenantConcurrency: 2, requestsPerMinute: null, requestsPerDay: null };

describe("QueuedLimiter over process memory", () => {
  it("lets at most tenantConcurrency calls run at once, and the rest in arrival order", async () => {
    const limiter = new QueuedLimiter(new MemorySlotStore());
    const settings = limitSettingsOf(base);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const permit = await limiter.acquire(scope, settings, Date.now() + 5_000);
        order.push(i);
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 10));
        running -= 1;
        await permit.release();
      }),
    );
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("paces a budget over its window and reports what is left", async () => {
    const limiter = new QueuedLimiter(new MemorySlotStore());
    const settings = limitSettingsOf(base, { tenantConcurrency: 10, tenantRates: [{ name: "day", points: 4, windowMs: 300 }] });
    const started = Date.now();
    const permits = await Promise.all(Array.from({ length: 6 }, () => limiter.acquire(scope, settings, Date.now() + 5_000)));
    const waits = permits.map((p) => p.waitedMs).sort((a, b) => a - b);
    expect(waits.slice(0, 4).every((w) => w < 100)).toBe(true);
    expect(waits[4]).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(permits[0]!.remaining.day).toBe(0.75);
  });

  it("refuses at once with RATE_LIMITED and retryAt when the turn cannot come in time, or the queue is full", async () => {
    const limiter = new QueuedLimiter(new MemorySlotStore());
    const settings = limitSettingsOf(base, { tenantRates: [{ name: "minute", points: 1, windowMs: 60_000 }], maxQueue: 2 });
    await limiter.acquire(scope, settings, Date.now() + 1_000);
    const started = Date.now();
    const late = await limiter.acquire(scope, settings, Date.now() + 1_000).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ProviderCallError);
    expect((late as ProviderCallError).code).toBe("RATE_LIMITED");
    expect((late as ProviderCallError).retryAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(Date.now() - started).toBeLessThan(200);

    const slow = limitSettingsOf(base, { tenantConcurrency: 1, maxQueue: 2 });
    const other = { provider: "xero", tenant: "org-2" };
    const held = await limiter.acquire(other, slow, Date.now() + 5_000);
    const queued = [limiter.acquire(other, slow, Date.now() + 5_000), limiter.acquire(other, slow, Date.now() + 5_000)];
    const full = await limiter.acquire(other, slow, Date.now() + 5_000).catch((e: unknown) => e);
    expect((full as ProviderCallError).message).toMatch(/queue full/);
    await held.release();
    for (const p of queued) await (await p).release();
  });

  it("holds a tenant back while the provider asked to wait", async () => {
    const limiter = new QueuedLimiter(new MemorySlotStore());
    const settings = limitSettingsOf(base);
    limiter.pause(scope, Date.now() + 150);
    const started = Date.now();
    await (await limiter.acquire(scope, settings, Date.now() + 5_000)).release();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    limiter.pause({ ...scope }, Date.now() + 60_000);
    const refused = await limiter.acquire(scope, settings, Date.now() + 1_000).catch((e: unknown) => e);
    expect((refused as ProviderCallError).code).toBe("RATE_LIMITED");
  });
});
