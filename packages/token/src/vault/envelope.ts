import { DecryptionError } from "../errors";

/**
 * Envelope text format, version 1:
 *
 *     tv1.<keyId>.<payload>
 *
 * - `tv1`     format version.
 * - `keyId`   8 base64url characters: the id of the key that sealed it (see key-ring.ts).
 * - `payload` unpadded base64url of nonce (12 bytes) || ciphertext || GCM tag (16 bytes).
 *
 * The header `tv1.<keyId>` is part of the associated data, with the record binding, so
 * neither can be changed without failing authentication.
 */
export const ENVELOPE_VERSION = "tv1";
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Far above any real token; bounds the work an oversized value can cause. */
export const MAX_PLAINTEXT_BYTES = 32 * 1024;
const MAX_PAYLOAD_BYTES = NONCE_BYTES + MAX_PLAINTEXT_BYTES + TAG_BYTES;
const MAX_ENVELOPE_CHARS = ENVELOPE_VERSION.length + 10 + Math.ceil((MAX_PAYLOAD_BYTES * 4) / 3);

const KEY_ID = /^[A-Za-z0-9_-]{8}$/;

export interface ParsedEnvelope {
  header: string;
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function formatEnvelope(keyId: string, nonce: Buffer, ciphertext: Buffer, tag: Buffer): string {
  return `${ENVELOPE_VERSION}.${keyId}.${Buffer.concat([nonce, ciphertext, tag]).toString("base64url")}`;
}

export function envelopeHeader(keyId: string): string {
  return `${ENVELOPE_VERSION}.${keyId}`;
}

/** Splits an envelope, or throws DecryptionError (MALFORMED / UNSUPPORTED_VERSION). Never echoes the input. */
export function parseEnvelope(envelope: unknown): ParsedEnvelope {
  if (typeof envelope !== "string" || envelope.length > MAX_ENVELOPE_CHARS) throw new DecryptionError("MALFORMED");
  // Two dots, found without splitting: the payload is most of the string.
  const firstDot = envelope.indexOf(".");
  const secondDot = firstDot < 0 ? -1 : envelope.indexOf(".", firstDot + 1);
  if (secondDot < 0 || envelope.indexOf(".", secondDot + 1) >= 0) throw new DecryptionError("MALFORMED");
  const version = envelope.slice(0, firstDot);
  const keyId = envelope.slice(firstDot + 1, secondDot);
  const payload = envelope.slice(secondDot + 1);
  if (version !== ENVELOPE_VERSION) {
    throw new DecryptionError(/^tv\d+$/.test(version) ? "UNSUPPORTED_VERSION" : "MALFORMED");
  }
  if (!KEY_ID.test(keyId)) throw new DecryptionError("MALFORMED");
  const bytes = Buffer.from(payload, "base64url");
  if (bytes.length < NONCE_BYTES + TAG_BYTES || !isCanonicalBase64url(payload, bytes.length)) {
    throw new DecryptionError("MALFORMED", keyId);
  }
  return {
    header: envelopeHeader(keyId),
    keyId,
    nonce: bytes.subarray(0, NONCE_BYTES),
    ciphertext: bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES),
    tag: bytes.subarray(bytes.length - TAG_BYTES),
  };
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * True when `text` is the one canonical unpadded base64url encoding of `decodedLength` bytes.
 * Node's decoder skips characters outside the alphabet and ignores the unused low bits of the
 * last character, so without this two different texts could open to the same secret. O(1):
 * a skipped character shows as a length mismatch, stray bits in the last character's value.
 */
function isCanonicalBase64url(text: string, decodedLength: number): boolean {
  if (text.length % 4 === 1 || decodedLength !== Math.floor((text.length * 3) / 4)) return false;
  const unusedBits = text.length % 4 === 2 ? 4 : text.length % 4 === 3 ? 2 : 0;
  if (unusedBits === 0) return true;
  const last = ALPHABET.indexOf(text[text.length - 1] ?? "");
  return last >= 0 && (last & ((1 << unusedBits) - 1)) === 0;
}

/** The key id an envelope names, without opening it; undefined when it is not an envelope. */
export function envelopeKeyId(envelope: string): string | undefined {
  const [version, keyId] = envelope.split(".", 3);
  return version === ENVELOPE_VERSION && keyId !== undefined && KEY_ID.test(keyId) ? keyId : undefined;
}
