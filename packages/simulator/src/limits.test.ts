import { describe, expect, it } from "vitest";
import { ApiLimiter, patchLimits, realLimits } from "./limits";

function limiter(patch: Parameters<typeof patchLimits>[1]) {
  let now = 1_000_000;
  const l = new ApiLimiter(() => now, patchLimits(realLimits(), patch));
  return { l, at: (ms: number) => (now = ms), now: () => now };
}

describe("ApiLimiter", () => {
  it("reports the longest wait first: a spent day before a spent minute", () => {
    const { l } = limiter({ xero: { perMinute: 2, perDay: 2 } });
    expect([l.admit("xero", "app", "t").ok, l.admit("xero", "app", "t").ok]).toEqual([true, true]);
    const refused = l.admit("xero", "app", "t");
    expect(refused).toMatchObject({ ok: false, problem: "day", retryAfterSeconds: 86_400 });
  });

  it("forgets calls 'after' now when the clock moves back, instead of blocking for the jump", () => {
    const { l, at } = limiter({ xero: { perMinute: 1 } });
    at(5_000_000);
    expect(l.admit("xero", "app", "t").ok).toBe(true);
    expect(l.admit("xero", "app", "t")).toMatchObject({ ok: false, problem: "minute" });
    at(1_000_000);
    expect(l.admit("xero", "app", "t").ok).toBe(true);
  });

  it("frees a concurrency slot once, however often release is called", () => {
    const { l } = limiter({ intuit: { concurrent: 1 } });
    const first = l.admit("intuit", "app", "realm");
    if (!first.ok) throw new Error("refused");
    first.release();
    first.release();
    const second = l.admit("intuit", "app", "realm");
    expect(second.ok).toBe(true);
    expect(l.admit("intuit", "app", "realm")).toMatchObject({ ok: false, problem: "concurrent", retryAfterSeconds: 1 });
    expect(l.usage().tenants[0]).toMatchObject({ served: 2, inFlight: 1, maxInFlight: 1 });
  });
});

describe("patchLimits", () => {
  it("sets, clears (null) and refuses what no limit can be", () => {
    const next = patchLimits(realLimits(), { xero: { perDay: null, concurrent: 2 }, minuteMs: 500 });
    expect(next).toMatchObject({ minuteMs: 500, xero: { perMinute: 60, perDay: null, concurrent: 2, appPerMinute: 10_000 } });
    expect(() => patchLimits(realLimits(), { intuit: { perMinute: 0 } })).toThrow("intuit.perMinute must be a positive integer or null");
    expect(() => patchLimits(realLimits(), { dayMs: 1.5 })).toThrow("dayMs must be a positive integer");
    expect(() => patchLimits(realLimits(), { xero: { perHour: 1 } as never })).toThrow("unknown limit xero.perHour");
    expect(realLimits().xero.perDay).toBe(5000);
  });
});
