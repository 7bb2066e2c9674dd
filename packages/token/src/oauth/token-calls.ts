import type { ProviderAdapter } from "../providers/types";
import { requestToken, revokeToken, type TokenResponse } from "./token-client";

/** What a code exchange needs beyond the code: the request it answers. */
export interface CodeExchange {
  code: string;
  state: string;
  redirectUri: string;
  codeVerifier: string | null;
  /** The nonce of the consent request: the id_token must carry it. Null: no id_token is expected. */
  nonce: string | null;
  /** Every parameter of the redirect (code, state, and iss where the provider sends it). */
  callbackParams: URLSearchParams;
}

/**
 * A provider's token endpoint calls, when a library makes them (generic providers: openid-client,
 * which also authenticates the client and verifies id_tokens). Each throws ProviderCallError
 * when the provider refused or failed; exchangeCode also IdTokenRejectedError.
 */
export interface TokenEndpointCalls {
  exchangeCode(input: CodeExchange, timeoutMs: number): Promise<TokenResponse>;
  refresh(refreshToken: string, timeoutMs: number): Promise<TokenResponse>;
  revoke(token: string, timeoutMs: number): Promise<void>;
}

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
