import { sha256 } from "@tokenvault/vault";

export { randomToken, sha256 } from "@tokenvault/vault";

/** RFC 7636 S256 challenge of a verifier (base64url text, so its UTF-8 is its ASCII). */
export function pkceChallenge(verifier: string): string {
  return sha256(verifier);
}

export const STATE_TTL_MS = 10 * 60 * 1000;
