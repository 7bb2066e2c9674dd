import { hkdfSync } from "node:crypto";
import { createKeyRing, Vault } from "@tokenvault/vault";

/** What the cookie carries: a reference to a server-side session, never the identity itself. */
export interface SessionReference {
  /** The session id: random, 256 bits; the store only ever sees its keyed hash. */
  sessionId: string;
  /** The current refresh token: rotated on use; an old one presented again ends the session. */
  refreshToken: string;
  /** When the reference stops being accepted (epoch ms): refused at once after, no tolerance. */
  expiresAtMs: number;
}

const BINDING = { companyId: "web", provider: "session", kind: "SESSION_COOKIE", externalId: "reference" } as const;

/**
 * Seals and opens the cookie's reference with the vault (AES-256-GCM) under a key derived from
 * SESSION_SECRET: the browser holds an opaque value it can neither read nor alter.
 */
export class SessionCookieSealer {
  private readonly vault: Vault;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error("the session secret needs at least 32 characters");
    const key = Buffer.from(hkdfSync("sha256", secret, "tokenvault", "session cookie", 32));
    this.vault = new Vault(createKeyRing(key));
  }

  seal(reference: SessionReference): string {
    const { sessionId: s, refreshToken: r, expiresAtMs: e } = reference;
    return this.vault.seal(JSON.stringify({ s, r, e }), BINDING).ciphertext;
  }

  /** The reference, or null when the value was not sealed here, was altered, or has expired. */
  open(value: string, nowMs: number): SessionReference | null {
    let fields: unknown;
    try {
      fields = JSON.parse(this.vault.open(value, BINDING));
    } catch {
      return null;
    }
    if (typeof fields !== "object" || fields === null) return null;
    const { s, r, e } = fields as { s?: unknown; r?: unknown; e?: unknown };
    if (typeof s !== "string" || typeof r !== "string" || typeof e !== "number") return null;
    if (e <= nowMs) return null;
    return { sessionId: s, refreshToken: r, expiresAtMs: e };
  }
}
