import { RateLimiterMemory } from "rate-limiter-flexible";
import { describe, expect, it } from "vitest";
import { RateLimitedSignIn } from "./sign-in-limits";

// The counting rules on the library's memory limiter (the PostgreSQL limiter is exercised over
// HTTP in test/sign-in.integration.test.ts, the factory's Redis limiters in test/limiter-factory.integration.test.ts).
const limits = { perAccount: 3, perAddress: 5 };
const limiter = () =>
  new RateLimitedSignIn(new RateLimiterMemory({ points: limits.perAccount, duration: 60 }), new RateLimiterMemory({ points: limits.perAddress, duration: 60 }), "s".repeat(32), limits);

describe("sign-in limits", () => {
  it("refuses an account once its failures are spent, whatever the address; another account is unaffected", async () => {
    const l = limiter();
    expect(await l.failed("alice", "198.51.100.1")).toBeNull();
    expect(await l.failed("Alice", "198.51.100.2")).toBeNull();
    const wait = await l.failed("ALICE", "198.51.100.3");
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    expect(await l.blocked("alice", "203.0.113.9")).toBeGreaterThan(0);
    expect(await l.blocked("bob", "203.0.113.9")).toBeNull();
  });

  it("refuses an address that failed for many accounts; other addresses, and no address, are unaffected", async () => {
    const l = limiter();
    for (let i = 0; i < limits.perAddress - 1; i++) expect(await l.failed(`user-${i}`, "198.51.100.7")).toBeNull();
    expect(await l.failed("user-last", "198.51.100.7")).toBeGreaterThan(0);
    expect(await l.blocked("someone-new", "198.51.100.7")).toBeGreaterThan(0);
    expect(await l.blocked("someone-new", "198.51.100.8")).toBeNull();
    expect(await l.blocked("someone-new", null)).toBeNull();
  });

  it("a success clears the account's count, not the address's", async () => {
    const l = limiter();
    await l.failed("bob", "198.51.100.1");
    await l.failed("bob", "198.51.100.1");
    await l.succeeded("bob");
    expect(await l.failed("bob", "198.51.100.1")).toBeNull();
    expect(await l.failed("bob", "198.51.100.1")).toBeNull();
    expect(await l.failed("carol", "198.51.100.1")).toBeGreaterThan(0); // the address's fifth
  });
});
