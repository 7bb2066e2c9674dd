import { describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey, isScope, matchesHash, prefixOf } from "./key-format";

describe("API key format", () => {
  it("generates keys whose prefix starts them and whose hash is not the key", () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).toMatch(/^tvk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(a.key.startsWith(`${a.prefix}_`)).toBe(true);
    expect(prefixOf(a.key)).toBe(a.prefix);
    expect(a.secretHash).toBe(hashApiKey(a.key));
    expect(a.secretHash).not.toContain(a.key.slice(a.prefix.length + 1));
    expect(a.key).not.toBe(b.key);
  });

  it("matches only the very key, and refuses malformed ones before any lookup", () => {
    const { key, secretHash } = generateApiKey();
    expect(matchesHash(key, secretHash)).toBe(true);
    const altered = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
    expect(matchesHash(altered, secretHash)).toBe(false);
    expect(matchesHash(key, "")).toBe(false);
    for (const bad of ["", "tvk_", key + "x", key.toUpperCase(), `Bearer ${key}`, key.replace("tvk_", "tvx_")]) expect(prefixOf(bad)).toBeNull();
  });

  it("knows its three scopes", () => {
    expect(["connections:read", "tokens:read", "proxy"].every(isScope)).toBe(true);
    expect(isScope("admin")).toBe(false);
    expect(isScope(undefined)).toBe(false);
  });
});
