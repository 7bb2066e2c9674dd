import { createHash, randomBytes } from "node:crypto";

/** 256 bits of randomness, URL-safe: used for `state` and PKCE verifiers. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/** States and codes are stored only as hashes, so a database dump cannot replay a pending flow. */
export function sha256(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("base64url");
}

/** RFC 7636 S256 challenge of a verifier. */
export function pkceChallenge(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

export const STATE_TTL_MS = 10 * 60 * 1000;
