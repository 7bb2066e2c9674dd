import type { CodeExchange, ProviderAdapter } from "../providers/types";
import { requestToken, revokeToken, type TokenResponse } from "./token-client";

/**
 * The code exchange succeeded but its id_token was refused (signature, issuer, audience, expiry,
 * nonce, or none at all), or its keys could not be fetched (`unavailable`). The grant is live at
 * the provider: `grant` is what to revoke, since it must not be kept.
 */
export class IdTokenRejectedError extends Error {
  override readonly name = "IdTokenRejectedError";
  constructor(
    readonly reason: "nonce_mismatch" | "issuer_mismatch" | "audience_mismatch" | "id_token_signature_invalid" | "id_token_expired" | "missing_id_token" | "id_token_not_verified",
    readonly unavailable: { status: number | null } | null,
    readonly grant: TokenResponse | null,
  ) {
    super(`id_token refused: ${reason}${unavailable ? " (keys unavailable)" : ""}`);
  }
}

/** The authorization_code grant, by the adapter's library or the plain token client. */
export function exchangeCode(adapter: ProviderAdapter, input: CodeExchange, timeoutMs: number): Promise<TokenResponse> {
  if (adapter.tokenCalls) return adapter.tokenCalls.exchangeCode(input, timeoutMs);
  const params = { grant_type: "authorization_code", code: input.code, redirect_uri: input.redirectUri, ...(input.codeVerifier ? { code_verifier: input.codeVerifier } : {}) };
  return requestToken(adapter.endpoints.token, adapter.client, params, timeoutMs, adapter.tokenRequestHeaders);
}

/** One refresh_token grant: one attempt, retries are the caller's. */
export function refreshGrant(adapter: ProviderAdapter, refreshToken: string, timeoutMs: number): Promise<TokenResponse> {
  if (adapter.tokenCalls) return adapter.tokenCalls.refresh(refreshToken, timeoutMs);
  return requestToken(adapter.endpoints.token, adapter.client, { grant_type: "refresh_token", refresh_token: refreshToken }, timeoutMs, adapter.tokenRequestHeaders);
}

/** Revokes a token where the provider has a revocation endpoint (RFC 7009; Intuit's JSON body). */
export async function revokeGrant(adapter: ProviderAdapter, token: string, timeoutMs: number): Promise<void> {
  if (!adapter.endpoints.revocation) return;
  if (adapter.tokenCalls) return adapter.tokenCalls.revoke(token, timeoutMs);
  await revokeToken(adapter.endpoints.revocation, adapter.client, token, adapter.revocationStyle, timeoutMs);
}
