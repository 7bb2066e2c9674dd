import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { blindIndex, blindIndexes } from "./blind-index";
import { createKeyRing } from "./key-ring";

describe("blind index", () => {
  const current = randomBytes(32);
  const previous = randomBytes(32);
  const ring = createKeyRing(current, [previous]);

  it("is stable for one key and value, and reveals neither", () => {
    const index = blindIndex(ring.current, "token", "secret-token-value");
    expect(index).toBe(blindIndex(createKeyRing(current).current, "token", "secret-token-value"));
    expect(index).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(index).not.toContain("secret");
  });

  it("separates purposes, values and keys", () => {
    const index = blindIndex(ring.current, "token", "v");
    expect(blindIndex(ring.current, "subject", "v")).not.toBe(index);
    expect(blindIndex(ring.current, "token", "w")).not.toBe(index);
    expect(blindIndex(createKeyRing(previous).current, "token", "v")).not.toBe(index);
    // The purpose and the value cannot be shifted into each other.
    expect(blindIndex(ring.current, "tok", "enx")).not.toBe(blindIndex(ring.current, "token", "x"));
  });

  it("lists the index under every key of the ring, the current key first", () => {
    expect(blindIndexes(ring, "token", "v")).toEqual([blindIndex(createKeyRing(current).current, "token", "v"), blindIndex(createKeyRing(previous).current, "token", "v")]);
  });
});
