import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemorySlotStore } from "../provider-calls/limits/memory-slots";
import { QueuedLimiter } from "../provider-calls/limits/queued-limiter";
import { Pacer, type Pace } from "./pacer";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A pacer over the memory store (made after the fake clock, so the store reads it). */
const pacerOf = (pace: Pace) => new Pacer(new QueuedLimiter(new MemorySlotStore()), "xero", pace);

/** Starts `count` records that each make `calls` provider calls and take `ms`; resolves their start times (fake clock). */
function startRecords(pacer: Pacer, count: number, calls: number, ms: number) {
  const starts: number[] = [];
  let inFlight = 0;
  let most = 0;
  const all = Promise.all(
    Array.from({ length: count }, () =>
      pacer.run(async () => {
        starts.push(Date.now());
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, ms));
        inFlight--;
        return { value: null, calls };
      }),
    ),
  );
  return { starts, all, most: () => most };
}

describe("Pacer", () => {
  it("keeps at most `concurrency` records in flight", async () => {
    const pacer = pacerOf({ concurrency: 2, perMinute: 1_000 });
    const t0 = Date.now();
    const run = startRecords(pacer, 5, 1, 100);
    await vi.advanceTimersByTimeAsync(1_000);
    await run.all;
    expect(run.most()).toBe(2);
    expect(Math.max(...run.starts.map((s) => s - t0))).toBeLessThan(300); // 3 rounds of 100 ms, a few ms of polling
  });

  it("keeps the provider calls of any minute under `perMinute`", async () => {
    const pacer = pacerOf({ concurrency: 10, perMinute: 4 });
    const t0 = Date.now();
    const run = startRecords(pacer, 4, 2, 10);
    await vi.advanceTimersByTimeAsync(130_000);
    await run.all;
    // Two records spend the minute's 4 calls; the next two wait until those leave the window.
    const starts = run.starts.map((s) => s - t0).sort((a, b) => a - b);
    expect(starts.slice(0, 2).every((s) => s < 100)).toBe(true);
    expect(starts.slice(2).every((s) => s >= 60_000 && s < 65_000)).toBe(true);
  });

  it("hands back what a record did not spend: records already present (0 calls) leave the budget alone", async () => {
    const pacer = pacerOf({ concurrency: 10, perMinute: 4 });
    const t0 = Date.now();
    const run = startRecords(pacer, 6, 0, 10);
    await vi.advanceTimersByTimeAsync(1_000);
    await run.all;
    expect(Math.max(...run.starts.map((s) => s - t0))).toBeLessThan(200);
  });

  it("keeps a record's slot past its lease while the record runs", async () => {
    const pacer = pacerOf({ concurrency: 1, perMinute: 1_000 });
    const t0 = Date.now();
    const run = startRecords(pacer, 2, 1, 30_000);
    await vi.advanceTimersByTimeAsync(70_000);
    await run.all;
    expect(run.most()).toBe(1);
    expect(Math.max(...run.starts.map((s) => s - t0))).toBeGreaterThanOrEqual(30_000);
  });

  it("charges a call beyond the reservation before the next record starts", async () => {
    const pacer = pacerOf({ concurrency: 10, perMinute: 3 });
    const t0 = Date.now();
    const run = startRecords(pacer, 2, 3, 10);
    await vi.advanceTimersByTimeAsync(130_000);
    await run.all;
    // The first reserves 2 of 3, spends 3: the second's 2 are free only when the minute has passed.
    const starts = run.starts.map((s) => s - t0).sort((a, b) => a - b);
    expect(starts[0]).toBeLessThan(100);
    expect(starts[1]).toBeGreaterThanOrEqual(60_000);
  });
});
