import { createHash, randomBytes } from "node:crypto";

/** `bytes` of CSPRNG randomness (256 bits by default), URL-safe: OAuth `state`, PKCE verifiers, lease owners. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/**
 * SHA-256 of a value, base64url. One-time values (OAuth states, codes) are stored only as this
 * hash, so a database dump cannot replay them; it is also RFC 7636's S256 PKCE challenge.
 */
export function sha256(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("base64url");
}
