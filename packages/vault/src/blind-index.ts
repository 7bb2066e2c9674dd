import { createHmac, type KeyObject } from "node:crypto";
import type { KeyRing } from "./key-ring";

/**
 * Blind indexes: a keyed hash (HMAC-SHA-256 under a key derived from the vault key) that lets a
 * store find a record by a value it must never hold, such as a bearer token. `purpose` separates
 * uses, so a token's index can never equal a subject's. Base64url, 43 characters.
 */
export function blindIndex(key: { indexKey: KeyObject }, purpose: string, value: string): string {
  return createHmac("sha256", key.indexKey).update(purpose).update("\u0000").update(value, "utf8").digest("base64url");
}

/**
 * The value's index under every key of the ring, the current key first: writes use the first,
 * lookups try each in turn, so records written before a key rotation stay findable until they expire.
 */
export function blindIndexes(keyRing: KeyRing, purpose: string, value: string): string[] {
  return keyRing.all.map((key) => blindIndex(key, purpose, value));
}
