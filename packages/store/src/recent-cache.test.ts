import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { RecentCache } from "./recent-cache";

describe("RecentCache", () => {
  it("keeps what was used recently and never holds more than twice its limit", () => {
    const cache = new RecentCache<number>(3);
    for (let i = 0; i < 100; i++) {
      cache.set(`k${i}`, i);
      expect(cache.size).toBeLessThanOrEqual(6);
    }
    expect(cache.get("k99")).toBe(99);
    expect(cache.get("k0")).toBeUndefined();
  });

  it("moves an entry read from the older half forward, so a hot entry survives", () => {
    const cache = new RecentCache<string>(2);
    cache.set("hot", "h");
    cache.set("a", "a"); // newer full: {hot, a}
    cache.set("b", "b"); // older {hot, a}, newer {b}
    expect(cache.get("hot")).toBe("h"); // promoted: newer {b, hot}
    cache.set("c", "c"); // older {b, hot}, newer {c}
    cache.set("d", "d"); // newer {c, d}
    expect(cache.get("hot")).toBe("h");
    expect(cache.get("a")).toBeUndefined();
  });

  it("shows only its size when inspected or serialised", () => {
    const cache = new RecentCache<{ claims: { value: string } }>(4);
    cache.set("k", { claims: { value: "SECRET-SERVICE-TOKEN" } });
    expect(inspect({ cache }, { depth: Infinity })).not.toContain("SECRET");
    expect(JSON.stringify({ cache })).not.toContain("SECRET");
    expect(inspect(cache)).toBe("RecentCache(1 entries, hidden)");
  });
});
