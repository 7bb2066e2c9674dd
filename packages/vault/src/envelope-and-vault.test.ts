import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecryptionError, TokenError } from "./errors";
import { createEnvelopeBuffer, MAX_PLAINTEXT_BYTES, NONCE_BYTES, parseEnvelope, TAG_BYTES } from "./envelope";
import { createKeyRing } from "./key-ring";
import { Vault, type VaultBinding } from "./vault";

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const vault = new Vault(createKeyRing(keyA));
const binding: VaultBinding = { companyId: "acme", provider: "quickbooks", kind: "REFRESH_TOKEN", externalId: "9130355" };

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptionError);
    return (error as DecryptionError).reason;
  }
  throw new Error("expected a DecryptionError, but the envelope opened");
}

/** Rebuilds an envelope with a modified payload (nonce || ciphertext || tag). */
function withPayload(envelope: string, edit: (payload: Buffer) => Buffer): string {
  const [version, keyId, payload] = envelope.split(".") as [string, string, string];
  return `${version}.${keyId}.${edit(Buffer.from(payload, "base64url")).toString("base64url")}`;
}

const bindingArb = fc.record({
  companyId: fc.string({ minLength: 1, unit: "grapheme" }),
  provider: fc.string({ minLength: 1 }),
  kind: fc.constantFrom("ACCESS_TOKEN", "REFRESH_TOKEN", "API_KEY", "WEBHOOK_SECRET"),
  externalId: fc.string({ unit: "grapheme" }),
});

describe("vault envelope", () => {
  it("has the documented shape: tv1.<8-char key id>.<base64url nonce||ciphertext||tag>", () => {
    const { ciphertext, keyId } = vault.seal("token-value", binding);
    expect(ciphertext).toMatch(/^tv1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/);
    expect(ciphertext.split(".")[1]).toBe(keyId);
    const payload = Buffer.from(ciphertext.split(".")[2]!, "base64url");
    expect(payload.length).toBe(NONCE_BYTES + Buffer.byteLength("token-value") + TAG_BYTES);
    expect(ciphertext).not.toContain("token-value");
  });

  it("uses a fresh nonce per encryption", () => {
    const nonces = new Set(
      Array.from({ length: 200 }, () => Buffer.from(vault.seal("same", binding).ciphertext.split(".")[2]!, "base64url").subarray(0, NONCE_BYTES).toString("hex")),
    );
    expect(nonces.size).toBe(200);
  });

  it("round-trips any well-formed string under any binding (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 3000, unit: "grapheme" }), bindingArb, (plaintext, b) => {
        expect(vault.open(vault.seal(plaintext, b).ciphertext, b)).toBe(plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses an envelope under any other binding (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), bindingArb, bindingArb, (plaintext, b1, b2) => {
        fc.pre(JSON.stringify(b1) !== JSON.stringify(b2));
        const { ciphertext } = vault.seal(plaintext, b1);
        expect(reasonOf(() => vault.open(ciphertext, b2))).toBe("AUTHENTICATION_FAILED");
      }),
      { numRuns: 300 },
    );
  });

  it("rejects every single-bit flip in nonce, ciphertext and tag", () => {
    const { ciphertext } = vault.seal("x".repeat(64), binding);
    const length = Buffer.from(ciphertext.split(".")[2]!, "base64url").length;
    let checked = 0;
    for (let byte = 0; byte < length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = withPayload(ciphertext, (p) => {
          const copy = Buffer.from(p);
          copy[byte]! ^= 1 << bit;
          return copy;
        });
        expect(reasonOf(() => vault.open(flipped, binding))).toBe("AUTHENTICATION_FAILED");
        checked++;
      }
    }
    expect(checked).toBe((NONCE_BYTES + 64 + TAG_BYTES) * 8);
  });

  it("rejects every single-bit flip in the header text", () => {
    const { ciphertext } = vault.seal("header-bound", binding);
    const headerLength = ciphertext.indexOf(".", 4);
    for (let i = 0; i < headerLength; i++) {
      for (let bit = 0; bit < 7; bit++) {
        const chars = [...ciphertext];
        chars[i] = String.fromCharCode(ciphertext.charCodeAt(i) ^ (1 << bit));
        const reason = reasonOf(() => vault.open(chars.join(""), binding));
        expect(["MALFORMED", "UNSUPPORTED_VERSION", "UNKNOWN_KEY", "AUTHENTICATION_FAILED"]).toContain(reason);
      }
    }
  });

  it("rejects a non-canonical base64url payload that decodes to the same bytes", () => {
    // 17 bytes encode to 23 characters whose last one carries 2 unused bits.
    const { ciphertext } = vault.seal("y", binding);
    const last = ciphertext.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    const variant = ciphertext.slice(0, -1) + sibling;
    const [, , payload] = variant.split(".") as [string, string, string];
    expect(Buffer.from(payload, "base64url").equals(Buffer.from(ciphertext.split(".")[2]!, "base64url"))).toBe(true);
    expect(reasonOf(() => vault.open(variant, binding))).toBe("MALFORMED");
  });

  it("reuses one envelope buffer without mixing values: many sizes sealed first, opened afterwards in any order", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 3000, unit: "binary" }), { minLength: 1, maxLength: 12 }), (values) => {
        const sealed = values.map((value) => vault.seal(value, binding).ciphertext);
        for (let i = values.length - 1; i >= 0; i--) expect(vault.open(sealed[i]!, binding)).toBe(values[i]);
      }),
      { numRuns: 50 },
    );
  });

  it("parses into a caller's buffer exactly as into fresh memory, and a buffer too small is MALFORMED, not truncated bytes", () => {
    const { ciphertext } = vault.seal("x".repeat(500), binding);
    const own = parseEnvelope(ciphertext);
    const shared = parseEnvelope(ciphertext, createEnvelopeBuffer());
    for (const field of ["nonce", "ciphertext", "tag"] as const) expect(shared[field].equals(own[field])).toBe(true);
    expect(reasonOf(() => parseEnvelope(ciphertext, Buffer.alloc(100)))).toBe("MALFORMED");
  });

  it("opens only the exact text it sealed: no other alphabet, no character that decodes to the same low byte", () => {
    const { ciphertext } = vault.seal("only one text opens this", binding);
    const headerLength = ciphertext.lastIndexOf(".") + 1;
    let tried = 0;
    for (let i = headerLength; i < ciphertext.length; i++) {
      const original = ciphertext.charCodeAt(i);
      // "+" and "/" for "-" and "_", and characters whose low byte is the original one.
      const lookalikes = [original === 45 ? 43 : original === 95 ? 47 : -1, original + 0x80, original + 0x100, original + 0x7f00, 0x20, 0x3d, 0xa0].filter((c) => c > 0);
      for (const code of lookalikes) {
        const variant = ciphertext.slice(0, i) + String.fromCharCode(code) + ciphertext.slice(i + 1);
        expect(reasonOf(() => vault.open(variant, binding))).toBe("MALFORMED");
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(2 * (ciphertext.length - headerLength));
  });

  it("gives typed errors for truncated, oversized, non-base64 and wrong-version input, never a crash", () => {
    const { ciphertext, keyId } = vault.seal("value", binding);
    const cases: [unknown, string][] = [
      ["", "MALFORMED"],
      ["tv1", "MALFORMED"],
      [`tv1.${keyId}`, "MALFORMED"],
      [`tv1.${keyId}.`, "MALFORMED"],
      [ciphertext.slice(0, 20), "MALFORMED"],
      [withPayload(ciphertext, (p) => p.subarray(0, NONCE_BYTES + TAG_BYTES - 1)), "MALFORMED"],
      [withPayload(ciphertext, (p) => p.subarray(0, p.length - 1)), "AUTHENTICATION_FAILED"],
      [withPayload(ciphertext, (p) => Buffer.concat([p, Buffer.from([0])])), "AUTHENTICATION_FAILED"],
      [`tv1.${keyId}.${"A".repeat(200_000)}`, "MALFORMED"],
      [`tv1.${keyId}.not*base64!`, "MALFORMED"],
      [`tv1.${keyId}.${ciphertext.split(".")[2]}==`, "MALFORMED"],
      [`tv2.${keyId}.${ciphertext.split(".")[2]}`, "UNSUPPORTED_VERSION"],
      [`v1.${keyId}.${ciphertext.split(".")[2]}`, "MALFORMED"],
      [`tv1.AAAAAAAA.${ciphertext.split(".")[2]}`, "UNKNOWN_KEY"],
      [`${ciphertext}.extra`, "MALFORMED"],
      [null, "MALFORMED"],
      [42, "MALFORMED"],
    ];
    for (const [input, reason] of cases) {
      expect(reasonOf(() => vault.open(input as string, binding)), String(input).slice(0, 40)).toBe(reason);
    }
  });

  it("never carries the ciphertext or plaintext in the error", () => {
    const { ciphertext } = vault.seal("canary-secret-value", binding);
    try {
      vault.open(ciphertext, { ...binding, companyId: "globex" });
      expect.unreachable();
    } catch (error) {
      const text = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error);
      expect(text).not.toContain(ciphertext.split(".")[2]!.slice(0, 16));
      expect(text).not.toContain("canary-secret-value");
      expect(error).toMatchObject({ code: "DECRYPTION_FAILED", reason: "AUTHENTICATION_FAILED" });
    }
  });

  it("swapping ciphertexts between records, tenants and kinds is rejected", () => {
    const records: VaultBinding[] = [
      binding,
      { ...binding, externalId: "other-realm" },
      { ...binding, companyId: "globex" },
      { ...binding, kind: "ACCESS_TOKEN" },
      { ...binding, provider: "xero" },
    ];
    const sealed = records.map((b) => vault.seal(`secret of ${JSON.stringify(b)}`, b).ciphertext);
    records.forEach((target, i) => {
      sealed.forEach((envelope, j) => {
        if (i === j) expect(vault.open(envelope, target)).toContain("secret of");
        else expect(reasonOf(() => vault.open(envelope, target))).toBe("AUTHENTICATION_FAILED");
      });
    });
  });

  it("opens envelopes of previous keys, seals with the current one, and refuses unknown keys", () => {
    const old = new Vault(createKeyRing(keyA));
    const rotated = new Vault(createKeyRing(keyB, [keyA]));
    const envelope = old.seal("kept", binding);
    expect(rotated.open(envelope.ciphertext, binding)).toBe("kept");
    expect(rotated.seal("new", binding).keyId).not.toBe(envelope.keyId);
    expect(reasonOf(() => new Vault(createKeyRing(keyB)).open(envelope.ciphertext, binding))).toBe("UNKNOWN_KEY");
  });

  it("refuses an ill-formed binding: a lone surrogate would share associated data with U+FFFD", () => {
    const lone = { ...binding, externalId: "\ud800" };
    expect(() => vault.seal("value", lone)).toThrow(TokenError);
    const { ciphertext } = vault.seal("value", { ...binding, externalId: "\ufffd" });
    expect(reasonOf(() => vault.open(ciphertext, lone))).toBe("AUTHENTICATION_FAILED");
  });

  it("refuses empty, oversized and ill-formed plaintext with INVALID_INPUT", () => {
    for (const bad of ["", "a".repeat(MAX_PLAINTEXT_BYTES + 1), "lone \ud800 surrogate"]) {
      expect(() => vault.seal(bad, binding)).toThrow(TokenError);
      try {
        vault.seal(bad, binding);
      } catch (error) {
        expect((error as TokenError).code).toBe("INVALID_INPUT");
      }
    }
  });
});
