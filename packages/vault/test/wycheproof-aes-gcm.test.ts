import { createCipheriv, createDecipheriv } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NONCE_BYTES, TAG_BYTES } from "../src/envelope";

interface Vector {
  tcId: number;
  comment: string;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: "valid" | "invalid" | "acceptable";
}
interface VectorFile {
  numberOfTests: number;
  testGroups: { keySize: number; ivSize: number; tagSize: number; tests: Vector[] }[];
}

// Project Wycheproof's AES-GCM vectors for the vault's parameters (256-bit key, 96-bit nonce,
// 128-bit tag), run through the same node:crypto calls and options the vault uses.
const file = JSON.parse(readFileSync(join(import.meta.dirname, "data", "wycheproof-aes-gcm-256.json"), "utf8")) as VectorFile;
const vectors = file.testGroups.flatMap((g) => {
  expect([g.keySize, g.ivSize, g.tagSize]).toEqual([256, NONCE_BYTES * 8, TAG_BYTES * 8]);
  return g.tests;
});

function encrypt(v: Vector) {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(v.key, "hex"), Buffer.from(v.iv, "hex"), { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(v.aad, "hex"));
  const ct = Buffer.concat([cipher.update(Buffer.from(v.msg, "hex")), cipher.final()]);
  return { ct: ct.toString("hex"), tag: cipher.getAuthTag().toString("hex") };
}

function decrypt(v: Vector): string {
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(v.key, "hex"), Buffer.from(v.iv, "hex"), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(v.aad, "hex"));
  decipher.setAuthTag(Buffer.from(v.tag, "hex"));
  return Buffer.concat([decipher.update(Buffer.from(v.ct, "hex")), decipher.final()]).toString("hex");
}

describe("Wycheproof AES-256-GCM vectors through node:crypto", () => {
  it("ships every vector of the filtered file", () => {
    expect(vectors).toHaveLength(file.numberOfTests);
    expect(vectors.filter((v) => v.result === "valid").length).toBeGreaterThan(30);
    expect(vectors.filter((v) => v.result === "invalid").length).toBeGreaterThan(20);
  });

  it.each(vectors.filter((v) => v.result === "valid").map((v) => [v.tcId, v.comment, v] as const))("valid #%i %s", (_id, _comment, v) => {
    expect(encrypt(v)).toEqual({ ct: v.ct, tag: v.tag });
    expect(decrypt(v)).toBe(v.msg);
  });

  it.each(vectors.filter((v) => v.result === "invalid").map((v) => [v.tcId, v.comment, v] as const))("invalid #%i %s is refused", (_id, _comment, v) => {
    expect(() => decrypt(v)).toThrow();
  });
});
