import { describe, expect, it } from "vitest";
import { accessTokenExpiresAt, skewAllowanceMs } from "./token-expiry";

describe("access token expiry from expires_in", () => {
  const sentAt = new Date("2026-12-06T12:00:00.000Z");
  const after = (expiresInSec: number) => accessTokenExpiresAt(sentAt, expiresInSec).getTime() - sentAt.getTime();

  it("counts from when the request was sent, less 1 s and 10% of the lifetime, at most 1 s + 5 s", () => {
    expect(after(6)).toBe(6_000 - 1_600);
    expect(after(60)).toBe(60_000 - 6_000);
    expect(after(3600)).toBe(3_600_000 - 6_000);
    expect(after(30 * 60)).toBe(1_800_000 - 6_000);
  });

  it("never takes more than half of a very short lifetime", () => {
    expect(after(1)).toBe(500);
    expect(after(2)).toBe(1_000);
    expect(after(3)).toBe(3_000 - 1_300);
    expect(skewAllowanceMs(0)).toBe(0);
  });
});
