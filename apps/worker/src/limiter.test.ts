import { describe, expect, it } from "vitest";
import { KeyedLimiter } from "./limiter";

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

describe("KeyedLimiter", () => {
  it("holds at most `limit` jobs per key, and the next one starts when a slot frees", async () => {
    const limiter = new KeyedLimiter();
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      limiter.run([{ key: "provider:xero", limit: 2 }, { key: "tenant:xero:t1", limit: 5 }], async () => {
        started.push(i);
        await g.opened;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    expect(limiter.inFlight("provider:xero")).toBe(2);
    gates[0]!.open();
    await runs[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.open();
    gates[2]!.open();
    await Promise.all(runs);
    expect(limiter.inFlight("provider:xero")).toBe(0);
    expect(limiter.inFlight("tenant:xero:t1")).toBe(0);
  });

  it("frees the slots of a job that throws", async () => {
    const limiter = new KeyedLimiter();
    await expect(limiter.run([{ key: "k", limit: 1 }], () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(limiter.inFlight("k")).toBe(0);
    await expect(limiter.run([{ key: "k", limit: 1 }], () => Promise.resolve(7))).resolves.toBe(7);
  });
});
