import { createCipheriv, createDecipheriv, randomFillSync } from "node:crypto";
import { DecryptionError, TokenError } from "./errors";
import { AssociatedDataCache, isWellFormedBinding, type VaultBinding } from "./associated-data";
import { createEnvelopeBuffer, envelopeHeader, formatEnvelope, MAX_PLAINTEXT_BYTES, NONCE_BYTES, parseEnvelope, TAG_BYTES } from "./envelope";
import type { KeyRing } from "./key-ring";

export type { VaultBinding };

export interface SealedSecret {
  ciphertext: string;
  keyId: string;
}

/**
 * Nonces come from the CSPRNG in pooled chunks: one randomFillSync per 341 nonces instead of a
 * randomBytes call per seal, which costs as much as the encryption of a 2 KB token. Each nonce
 * is still 96 fresh random bits, used once.
 */
const noncePool = Buffer.alloc(NONCE_BYTES * 341);
let noncePoolOffset = noncePool.length;
function freshNonce(): Buffer {
  if (noncePoolOffset + NONCE_BYTES > noncePool.length) {
    randomFillSync(noncePool);
    noncePoolOffset = 0;
  }
  // A view, not a copy: it is consumed (copied into the cipher and the envelope) before the pool refills.
  const nonce = noncePool.subarray(noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
  return nonce;
}

/**
 * What the vault can seal: a non-empty, well-formed string of at most MAX_PLAINTEXT_BYTES in
 * UTF-8. Ill-formed UTF-16 (a lone surrogate) would not survive the UTF-8 round trip unchanged.
 */
export function isSealable(value: unknown): value is string {
  if (typeof value !== "string" || value.length === 0 || !value.isWellFormed()) return false;
  // A UTF-16 unit encodes to at most 3 bytes: only long strings need the exact (scanning) count.
  return value.length * 3 <= MAX_PLAINTEXT_BYTES || Buffer.byteLength(value, "utf8") <= MAX_PLAINTEXT_BYTES;
}

/**
 * AES-256-GCM with a fresh random 96-bit nonce per seal and a 128-bit tag. Pure: no I/O, no
 * logging. The key ring is validated before a Vault can exist, so a Vault never runs keyless.
 */
export class Vault {
  private readonly associatedData = new AssociatedDataCache();
  /** Holds one envelope's public bytes (nonce, ciphertext, tag) at a time: seal and open are synchronous. */
  private readonly envelopeBuffer = createEnvelopeBuffer();

  constructor(readonly keyRing: KeyRing) {}

  get currentKeyId(): string {
    return this.keyRing.current.id;
  }

  seal(plaintext: string, binding: VaultBinding): SealedSecret {
    if (!isSealable(plaintext)) {
      throw new TokenError("INVALID_INPUT", `A secret must be a non-empty, well-formed string of at most ${MAX_PLAINTEXT_BYTES} bytes.`);
    }
    if (!isWellFormedBinding(binding)) throw new TokenError("INVALID_INPUT", "A secret's company, provider, kind and external id must be well-formed strings.");
    const key = this.keyRing.current;
    const header = envelopeHeader(key.id);
    const nonce = freshNonce();
    const cipher = createCipheriv("aes-256-gcm", key.aesKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.associatedData.get(header, binding));
    const head = cipher.update(plaintext, "utf8");
    const tail = cipher.final(); // GCM is a stream mode: final() emits no bytes, it computes the tag
    const ciphertext = tail.length === 0 ? head : Buffer.concat([head, tail]);
    return { ciphertext: formatEnvelope(header, nonce, ciphertext, cipher.getAuthTag(), this.envelopeBuffer), keyId: key.id };
  }

  /** Opens an envelope sealed for `binding`, or throws DecryptionError with a reason. */
  open(envelope: string, binding: VaultBinding): string {
    const parsed = parseEnvelope(envelope, this.envelopeBuffer);
    const key = this.keyRing.get(parsed.keyId);
    if (!key) throw new DecryptionError("UNKNOWN_KEY", parsed.keyId);
    // Nothing can have been sealed for an ill-formed binding (see seal).
    if (!isWellFormedBinding(binding)) throw new DecryptionError("AUTHENTICATION_FAILED", parsed.keyId);
    // authTagLength pins the tag size: without it Node accepts truncated tags.
    const decipher = createDecipheriv("aes-256-gcm", key.aesKey, parsed.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(this.associatedData.get(parsed.header, binding));
    decipher.setAuthTag(parsed.tag);
    try {
      const plaintext = decipher.update(parsed.ciphertext);
      decipher.final(); // verifies the tag: nothing is returned before it passes
      return plaintext.toString("utf8");
    } catch {
      throw new DecryptionError("AUTHENTICATION_FAILED", parsed.keyId);
    }
  }
}
