import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Pacer } from "./pacer";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Starts `count` records that each make `calls` provider calls and take `ms`; resolves their start times (fake clock). */
function startRecords(pacer: Pacer, count: number, calls: number, ms: number): { starts: number[]; all: Promise<unknown> } {
  const starts: number[] = [];
  const all = Promise.all(
    Array.from({ length: count }, () =>
      pacer.run(async () => {
        starts.push(Date.now());
        await new Promise((resolve) => setTimeout(resolve, ms));
        return { value: null, calls };
      }),
    ),
  );
  return { starts, all };
}

describe("Pacer", () => {
  it("keeps at most `concurrency` records in flight", async () => {
    const pacer = new Pacer({ concurrency: 2, perMinute: 1_000 });
    const t0 = Date.now();
    const { starts, all } = startRecords(pacer, 5, 1, 100);
    await vi.advanceTimersByTimeAsync(1_000);
    await all;
    expect(starts.map((s) => s - t0)).toEqual([0, 0, 100, 100, 200]);
  });

  it("keeps the provider calls of any minute under `perMinute`", async () => {
    const pacer = new Pacer({ concurrency: 10, perMinute: 4 });
    const t0 = Date.now();
    const { starts, all } = startRecords(pacer, 4, 2, 10);
    await vi.advanceTimersByTimeAsync(130_000);
    await all;
    // Two records spend the minute's 4 calls; the next two wait until those leave the window.
    expect(starts.map((s) => s - t0)).toEqual([0, 0, 60_010, 60_010]);
  });

  it("counts what a record really spent: one already present (0 calls) leaves the budget alone", async () => {
    const pacer = new Pacer({ concurrency: 10, perMinute: 4 });
    const t0 = Date.now();
    const { starts, all } = startRecords(pacer, 6, 0, 10);
    await vi.advanceTimersByTimeAsync(1_000);
    await all;
    expect(Math.max(...starts.map((s) => s - t0))).toBeLessThan(100);
  });
});
