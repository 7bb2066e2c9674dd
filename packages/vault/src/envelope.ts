import { DecryptionError } from "./errors";

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

/** Room for the largest payload: a buffer a Vault reuses for every seal and open. */
export function createEnvelopeBuffer(): Buffer {
  return Buffer.allocUnsafe(MAX_PAYLOAD_BYTES);
}

/**
 * `header.<base64url(nonce || ciphertext || tag)>`. The payload is assembled in `buffer` (see
 * createEnvelopeBuffer) rather than a fresh allocation per seal; only public bytes pass through it.
 */
export function formatEnvelope(header: string, nonce: Buffer, ciphertext: Buffer, tag: Buffer, buffer: Buffer): string {
  const length = NONCE_BYTES + ciphertext.length + TAG_BYTES;
  if (length > buffer.length) throw new RangeError("The envelope buffer is too small for this payload.");
  buffer.set(nonce, 0);
  buffer.set(ciphertext, NONCE_BYTES);
  buffer.set(tag, NONCE_BYTES + ciphertext.length);
  return `${header}.${buffer.toString("base64url", 0, length)}`;
}

export function envelopeHeader(keyId: string): string {
  return `${ENVELOPE_VERSION}.${keyId}`;
}

/**
 * Splits an envelope, or throws DecryptionError (MALFORMED / UNSUPPORTED_VERSION). Never echoes
 * the input. The payload is decoded into `buffer` when one is given, so nonce, ciphertext and tag
 * are views into it, valid until it is reused; without one they get their own memory.
 */
export function parseEnvelope(envelope: unknown, buffer?: Buffer): ParsedEnvelope {
  if (typeof envelope !== "string" || envelope.length > MAX_ENVELOPE_CHARS) throw new DecryptionError("MALFORMED");
  // Two dots, found without splitting: the payload is most of the string. A third dot is not
  // base64url, refused below.
  const firstDot = envelope.indexOf(".");
  const secondDot = firstDot < 0 ? -1 : envelope.indexOf(".", firstDot + 1);
  if (secondDot < 0) throw new DecryptionError("MALFORMED");
  const version = envelope.slice(0, firstDot);
  const keyId = envelope.slice(firstDot + 1, secondDot);
  const payload = envelope.slice(secondDot + 1);
  if (version !== ENVELOPE_VERSION) {
    throw new DecryptionError(/^tv\d+$/.test(version) ? "UNSUPPORTED_VERSION" : "MALFORMED");
  }
  if (!KEY_ID.test(keyId)) throw new DecryptionError("MALFORMED");
  // The length bound above keeps a valid payload within MAX_PAYLOAD_BYTES; a buffer that is
  // too small would truncate, which the canonical check reports as MALFORMED, never as bytes.
  const bytes = buffer ?? Buffer.from(payload, "base64url");
  const length = buffer ? buffer.write(payload, 0, "base64url") : bytes.length;
  if (length < NONCE_BYTES + TAG_BYTES || !isCanonicalBase64url(payload, length)) {
    throw new DecryptionError("MALFORMED", keyId);
  }
  return {
    header: envelopeHeader(keyId),
    keyId,
    nonce: bytes.subarray(0, NONCE_BYTES),
    ciphertext: bytes.subarray(NONCE_BYTES, length - TAG_BYTES),
    tag: bytes.subarray(length - TAG_BYTES, length),
  };
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * True when `text` is the one canonical unpadded base64url encoding of `decodedLength` bytes,
 * so that no two texts open to the same secret. Node's decoder is lenient in four ways, each
 * refused here without a per-character loop in JavaScript (a regex scan cost a quarter of a
 * 2 KB round trip):
 * - it skips characters it does not know: they show as a decoded length that does not match;
 * - it reads "+" and "/" as "-" and "_": searched for (native, vectorised);
 * - it reads a character above U+00FF by its low byte: any non-ASCII character makes the UTF-8
 *   length differ from the string length;
 * - it ignores the unused low bits of the last character: checked directly.
 */
function isCanonicalBase64url(text: string, decodedLength: number): boolean {
  if (text.length % 4 === 1 || decodedLength !== Math.floor((text.length * 3) / 4)) return false;
  if (text.includes("+") || text.includes("/") || Buffer.byteLength(text, "utf8") !== text.length) return false;
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
