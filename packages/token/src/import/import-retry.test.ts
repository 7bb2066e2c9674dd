import { TokenError } from "@tokenvault/vault";
import { describe, expect, it } from "vitest";
import { IMPORT_RETRY, notRetriedWhy, retryDelay, transientRefusal } from "./import-retry";

describe("transientRefusal", () => {
  it("retries the database, a rate limit (with its Retry-After) and a provider that is down", () => {
    expect(transientRefusal(new TokenError("VAULT_UNAVAILABLE", "x"))).toEqual({ retryAfterMs: 0 });
    expect(transientRefusal(new TokenError("RATE_LIMITED", "x", { details: { status: 429, retryAfterMs: 2_000 } }))).toEqual({ retryAfterMs: 2_000 });
    expect(transientRefusal(new TokenError("PROVIDER_UNAVAILABLE", "x", { details: { status: 503 } }))).toEqual({ retryAfterMs: 0 });
    expect(transientRefusal(new TokenError("PROVIDER_UNAVAILABLE", "x", { details: { status: null } }))).toEqual({ retryAfterMs: 0 }); // a timeout
  });

  it("never retries a refusal of the record, nor a record whose refresh may have rotated its refresh token", () => {
    expect(transientRefusal(new TokenError("REAUTH_REQUIRED", "invalid_grant"))).toBeNull();
    expect(transientRefusal(new TokenError("INVALID_INPUT", "x"))).toBeNull();
    expect(transientRefusal(new TokenError("CONFIGURATION", "x"))).toBeNull();
    expect(transientRefusal(new TokenError("PROVIDER_UNAVAILABLE", "x", { details: { status: 404 } }))).toBeNull();
    expect(transientRefusal(new Error("boom"))).toBeNull();
    const rotated = new TokenError("VAULT_UNAVAILABLE", "x", { details: { refreshMayHaveRotated: true } });
    expect(transientRefusal(rotated)).toBeNull();
    expect(notRetriedWhy(rotated)).toContain("Not retried");
    expect(notRetriedWhy(new TokenError("INVALID_INPUT", "x", { details: { refreshMayHaveRotated: true } }))).toBeNull();
  });
});

describe("retryDelay", () => {
  it("grows exponentially, jittered within its upper half, capped, and never under the provider's Retry-After", () => {
    expect([1, 2, 3].map((a) => retryDelay(IMPORT_RETRY, a, 0, () => 0))).toEqual([500, 1_000, 2_000]);
    expect([1, 2, 3].map((a) => retryDelay(IMPORT_RETRY, a, 0, () => 1))).toEqual([1_000, 2_000, 4_000]);
    expect(retryDelay(IMPORT_RETRY, 10, 0, () => 1)).toBe(30_000);
    expect(retryDelay(IMPORT_RETRY, 1, 5_000, () => 1)).toBe(5_000);
  });
});
