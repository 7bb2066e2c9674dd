import { describe, expect, it } from "vitest";
import { DEFAULT_CALL_OPTIONS } from "./provider-client";
import { backoffMs, limitProblem, mayRepeat, rateLimitDelayMs, retryAfterMs, retrySpanMs } from "./retry-policy";

describe("retry policy", () => {
  it("repeats idempotent methods, and others only with an idempotency key", () => {
    for (const method of ["GET", "head", "PUT", "DELETE", "OPTIONS"]) expect(mayRepeat(method, undefined)).toBe(true);
    expect(mayRepeat("POST", undefined)).toBe(false);
    expect(mayRepeat("PATCH", undefined)).toBe(false);
    expect(mayRepeat("POST", "key-1")).toBe(true);
  });

  it("reads Retry-After as seconds or as a date", () => {
    const now = Date.parse("2026-12-07T00:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "7" }), now)).toBe(7_000);
    expect(retryAfterMs(new Headers({ "retry-after": "Mon, 07 Dec 2026 00:00:30 GMT" }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeNull();
    expect(retryAfterMs(new Headers(), now)).toBeNull();
  });

  it("knows Xero's limit problems and defaults the delay by them", () => {
    expect(limitProblem(new Headers({ "x-rate-limit-problem": "Minute" }))).toBe("minute");
    expect(limitProblem(new Headers({ "x-rate-limit-problem": "appminute" }))).toBe("appminute");
    expect(limitProblem(new Headers({ "x-rate-limit-problem": "other" }))).toBeNull();
    expect(rateLimitDelayMs(new Headers({ "x-rate-limit-problem": "concurrent" }), 0)).toBe(1_000);
    expect(rateLimitDelayMs(new Headers({ "x-rate-limit-problem": "day", "retry-after": "3600" }), 0)).toBe(3_600_000);
    expect(rateLimitDelayMs(new Headers(), 0)).toBe(60_000);
  });

  it("backs off exponentially, half fixed and half jitter, capped", () => {
    expect(backoffMs(1, 100, 1_000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 1_000, () => 1)).toBe(400);
    expect(backoffMs(10, 100, 1_000, () => 1)).toBe(1_000);
    expect(backoffMs(2, 100, 1_000, () => 0)).toBe(100);
    expect(backoffMs(10, 100, 1_000, () => 0)).toBe(500);
  });

  it("by default rides out a 10 s outage (issue 25) and still fits the call's total time", () => {
    const { maxAttempts, backoffBaseMs, backoffMaxMs, totalTimeoutMs } = DEFAULT_CALL_OPTIONS;
    const span = retrySpanMs(maxAttempts, backoffBaseMs, backoffMaxMs);
    expect(span.least).toBeGreaterThanOrEqual(10_000);
    expect(span.most).toBeLessThan(totalTimeoutMs - 5_000); // room for the attempts themselves
    expect(retrySpanMs(3, 100, 1_000)).toEqual({ least: 150, most: 300 });
  });
});
