import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from "node:crypto";
import { KeyConfigError } from "./errors";

/** Key material must have full entropy: 32 random bytes, never a password. */
export const KEY_BYTES = 32;

export interface VaultKey {
  /** Short public id derived from the key (HKDF), written into every envelope it seals. */
  readonly id: string;
  /** AES-256 key derived once from the configured material, so the raw material is never used directly. */
  readonly aesKey: KeyObject;
  /** HMAC-SHA-256 key for blind indexes (lookup keys of values that must not be stored), derived once. */
  readonly indexKey: KeyObject;
}

export interface KeyRing {
  /** Seals every new envelope. */
  readonly current: VaultKey;
  /** Every key that can open envelopes: the current one and the previous, decrypt-only ones. */
  get(id: string): VaultKey | undefined;
  readonly ids: readonly string[];
  /** Every key, the current one first. */
  readonly all: readonly VaultKey[];
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_CHARS = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Decodes a 32-byte key given as 64 hex characters or as base64 / base64url (padding optional).
 * Errors name `variable` and describe the problem without echoing the value.
 */
export function decodeKeyMaterial(variable: string, value: string | undefined): Buffer {
  const text = value?.trim() ?? "";
  if (text === "") throw new KeyConfigError(variable, "is not set: it must hold a 32-byte key (hex or base64). Generate one with `pnpm token:generate-key`.");
  if (HEX_KEY.test(text)) return Buffer.from(text, "hex");
  // Hex of the wrong length (a base64 key is all-hex with negligible probability).
  if (/^[0-9a-fA-F]+$/.test(text)) {
    throw new KeyConfigError(variable, `must decode to ${KEY_BYTES} bytes but has ${text.length} hex characters (64 are needed).`);
  }
  if (!BASE64_CHARS.test(text)) {
    throw new KeyConfigError(variable, "cannot be decoded: it must be 64 hex characters or the base64 encoding of 32 bytes.");
  }
  const unpadded = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Buffer.from(unpadded, "base64");
  // Node's decoder skips bad input silently; a canonical round trip proves the text was real base64.
  if (bytes.toString("base64").replace(/=+$/, "") !== unpadded) {
    throw new KeyConfigError(variable, "cannot be decoded: it is not canonical base64.");
  }
  if (bytes.length !== KEY_BYTES) {
    throw new KeyConfigError(variable, `must decode to ${KEY_BYTES} bytes but decodes to ${bytes.length}.`);
  }
  return bytes;
}

function derive(material: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync("sha256", material, Buffer.alloc(0), info, length));
}

/** Derives the key's public id and its AES key. Runs once per key at start-up: no KDF per value. */
export function createVaultKey(material: Buffer): VaultKey {
  if (material.length !== KEY_BYTES) throw new KeyConfigError("key", `must be ${KEY_BYTES} bytes.`);
  return {
    id: derive(material, "tokenvault/key-id/v1", 6).toString("base64url"),
    aesKey: createSecretKey(derive(material, "tokenvault/aes-256-gcm/v1", KEY_BYTES)),
    indexKey: createSecretKey(derive(material, "tokenvault/blind-index/v1", KEY_BYTES)),
  };
}

export function createKeyRing(current: Buffer, previous: readonly Buffer[] = []): KeyRing {
  const currentKey = createVaultKey(current);
  const byId = new Map<string, VaultKey>([[currentKey.id, currentKey]]);
  for (const material of previous) {
    const key = createVaultKey(material);
    if (!byId.has(key.id)) byId.set(key.id, key);
  }
  return { current: currentKey, get: (id) => byId.get(id), ids: [...byId.keys()], all: [...byId.values()] };
}

/** Parses TOKEN_ENCRYPTION_KEY and the comma-separated TOKEN_ENCRYPTION_KEYS_PREVIOUS. */
export function keyRingFromSettings(settings: { current: string | undefined; previous: string | undefined }): KeyRing {
  const current = decodeKeyMaterial("TOKEN_ENCRYPTION_KEY", settings.current);
  const previous = (settings.previous ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part, index) => decodeKeyMaterial(`TOKEN_ENCRYPTION_KEYS_PREVIOUS[${index}]`, part));
  return createKeyRing(current, previous);
}

/** A fresh key from the system's CSPRNG, in both accepted encodings. */
export function generateKeyMaterial(): { hex: string; base64: string; id: string } {
  const bytes = randomBytes(KEY_BYTES);
  return { hex: bytes.toString("hex"), base64: bytes.toString("base64"), id: createVaultKey(bytes).id };
}
