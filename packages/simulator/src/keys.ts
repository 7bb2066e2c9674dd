import { createHash } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import { randomToken } from "./ids";

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/** One RS256 key per simulator run, generated at start: clients fetch it from the JWKS endpoints. */
export class SigningKeys {
  private constructor(
    private readonly privateKey: PrivateKey,
    readonly publicJwk: JWK,
  ) {}

  static async generate(): Promise<SigningKeys> {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk = await exportJWK(publicKey);
    return new SigningKeys(privateKey, { ...jwk, kid: `sim-${randomToken(6)}`, alg: "RS256", use: "sig" });
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  async sign(payload: JWTPayload): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: this.publicJwk.kid!, typ: "JWT" }).sign(this.privateKey);
  }

  /** A forgery for clients' tests: this key set's kid, signed by a key nobody published. */
  async signWithStrangerKey(payload: JWTPayload): Promise<string> {
    const { privateKey } = await generateKeyPair("RS256");
    return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: this.publicJwk.kid!, typ: "JWT" }).sign(privateKey);
  }
}

/** at_hash per OIDC Core §3.1.3.6: left half of SHA-256 of the access token, base64url. */
export function accessTokenHash(accessToken: string): string {
  return createHash("sha256").update(accessToken).digest().subarray(0, 16).toString("base64url");
}

/** PKCE S256 (RFC 7636 §4.2). */
export function pkceS256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}
