import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeyConfigError } from "./errors";
import { createKeyRing, decodeKeyMaterial, generateKeyMaterial, keyRingFromSettings } from "./key-ring";

describe("key ring", () => {
  const bytes = randomBytes(32);

  it("accepts 32 bytes as hex, base64 and base64url (with or without padding) and derives one id", () => {
    const encodings = [bytes.toString("hex"), bytes.toString("hex").toUpperCase(), bytes.toString("base64"), bytes.toString("base64url"), ` ${bytes.toString("base64")}\n`];
    for (const text of encodings) expect(decodeKeyMaterial("TOKEN_ENCRYPTION_KEY", text).equals(bytes)).toBe(true);
    const ids = encodings.map((text) => keyRingFromSettings({ current: text, previous: undefined }).current.id);
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(/^[A-Za-z0-9_-]{8}$/);
  });

  it.each([
    ["missing", undefined, /TOKEN_ENCRYPTION_KEY is not set/],
    ["empty", "   ", /TOKEN_ENCRYPTION_KEY is not set/],
    ["short (31 bytes hex)", randomBytes(31).toString("hex"), /TOKEN_ENCRYPTION_KEY must decode to 32 bytes/],
    ["long (33 bytes base64)", randomBytes(33).toString("base64"), /TOKEN_ENCRYPTION_KEY must decode to 32 bytes but decodes to 33/],
    ["undecodable", "this is not a key!", /TOKEN_ENCRYPTION_KEY cannot be decoded/],
    ["non-canonical base64", "A".repeat(42) + "B=", /TOKEN_ENCRYPTION_KEY cannot be decoded/],
  ])("refuses a %s key with an error naming the variable and not the value", (_label, value, message) => {
    let error: unknown;
    try {
      keyRingFromSettings({ current: value, previous: undefined });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KeyConfigError);
    expect((error as KeyConfigError).message).toMatch(message);
    expect((error as KeyConfigError).variable).toBe("TOKEN_ENCRYPTION_KEY");
    if (value && value.trim()) expect((error as Error).message).not.toContain(value.trim());
  });

  it("names the position of a bad previous key", () => {
    expect(() => keyRingFromSettings({ current: bytes.toString("hex"), previous: `${randomBytes(32).toString("hex")}, nope!` })).toThrow(
      /TOKEN_ENCRYPTION_KEYS_PREVIOUS\[1\] cannot be decoded/,
    );
  });

  it("holds the current key and the previous keys by id", () => {
    const older = [randomBytes(32), randomBytes(32)];
    const ring = createKeyRing(bytes, older);
    expect(ring.ids).toHaveLength(3);
    for (const id of ring.ids) expect(ring.get(id)?.id).toBe(id);
    expect(ring.ids[0]).toBe(ring.current.id);
  });

  it("generates distinct keys that the ring accepts", () => {
    const a = generateKeyMaterial();
    const b = generateKeyMaterial();
    expect(a.hex).not.toBe(b.hex);
    expect(keyRingFromSettings({ current: a.base64, previous: undefined }).current.id).toBe(a.id);
    expect(keyRingFromSettings({ current: a.hex, previous: undefined }).current.id).toBe(a.id);
  });
});
