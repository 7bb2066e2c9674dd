import { describe, expect, it } from "vitest";
import { nextRetryAt } from "./company-webhooks";
import { DEFAULT_WORKER_CONFIG } from "./config";

describe("webhook retry schedule", () => {
  it("spans at least 24 hours with the default retries, counting only pg-boss's minimum waits", () => {
    const { webhookRetryLimit: limit, webhookRetryDelaySeconds: delay } = DEFAULT_WORKER_CONFIG;
    let at = new Date(0);
    for (let attempt = 1; attempt <= limit; attempt++) at = nextRetryAt(at, attempt, delay);
    expect(at.getTime()).toBe(delay * 1000 * (2 ** limit - 1));
    expect(at.getTime()).toBeGreaterThanOrEqual(24 * 3600 * 1000);
    // One retry fewer would not: the limit is the smallest that does.
    expect(delay * 1000 * (2 ** (limit - 1) - 1)).toBeLessThan(24 * 3600 * 1000);
  });

  it("doubles the wait after each failed attempt: 1 min, 2 min, 4 min", () => {
    const now = new Date("2026-12-02T00:00:00Z");
    expect([1, 2, 3].map((n) => (nextRetryAt(now, n, 60).getTime() - now.getTime()) / 60_000)).toEqual([1, 2, 4]);
  });
});
