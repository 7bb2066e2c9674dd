import type { TokenErrorCode } from "@tokenvault/vault";
import { sha256 } from "../oauth/pkce-state";
import { ProviderCallError, type TokenResponse } from "../oauth/token-client";
import type { ProviderAdapter } from "../providers/types";

/** Why a code exchange's id_token was refused, as the callback reports and audits it. */
export interface IdTokenRefusal {
  code: TokenErrorCode;
  message: string;
  /** The audit row's `details.reason`. */
  reason: string;
  endpoint: string;
  method: string;
  status: number;
}

/**
 * The id_token of the exchange must be verified and carry the nonce bound to this state (and
 * the redirect's realmId): otherwise the code came from another consent request, e.g. a code of
 * company A replayed with company B's state. When the provider's keys cannot be fetched, nothing
 * was shown forged: the provider was unavailable, and the caller is told to try again. Either
 * way the grant cannot be bound to the request, so the caller must not keep it. Null: accepted.
 */
export async function checkIdToken(
  adapter: Pick<ProviderAdapter, "displayName" | "endpoints" | "verifyIdToken">,
  response: TokenResponse,
  expected: { nonceHash: string; externalId: string | null },
  timeoutMs: number,
): Promise<IdTokenRefusal | null> {
  let reason: string | null = null;
  if (!response.id_token || !adapter.verifyIdToken) reason = "missing_id_token";
  else {
    const verified = await adapter.verifyIdToken(response.id_token, timeoutMs).then(
      (claims) => ({ claims, error: null }),
      (error: unknown) => ({ claims: null, error }),
    );
    if (verified.error instanceof ProviderCallError) return providerUnavailable(adapter, verified.error);
    const claims = verified.claims;
    if (!claims) reason = "id_token_not_verified";
    else if (claims.nonce === null || sha256(claims.nonce) !== expected.nonceHash) reason = "nonce_mismatch";
    else if (expected.externalId !== null && claims.realmId !== null && claims.realmId !== expected.externalId) reason = "realm_mismatch";
  }
  return reason === null ? null : mismatch(adapter, reason);
}

/** The refusal of an id_token that does not belong to the connection this user started. */
function mismatch(adapter: Pick<ProviderAdapter, "displayName" | "endpoints">, reason: string): IdTokenRefusal {
  return {
    code: "INVALID_STATE",
    message: `This ${adapter.displayName} sign-in does not match the connection you started. Start the connection again.`,
    reason,
    endpoint: adapter.endpoints.token,
    method: "POST",
    status: 400,
  };
}

function providerUnavailable(adapter: Pick<ProviderAdapter, "displayName" | "endpoints">, error: ProviderCallError): IdTokenRefusal {
  return {
    code: "PROVIDER_UNAVAILABLE",
    message: `${adapter.displayName} could not be reached to verify this sign-in. Try connecting again in a few minutes.`,
    reason: "id_token_unverifiable_provider_unavailable",
    endpoint: adapter.endpoints.jwks ?? adapter.endpoints.token,
    method: "GET",
    status: error.status ?? 0,
  };
}

/** The refusal for an id_token a library (openid-client) refused: `unavailable` when its keys could not be fetched. */
export function idTokenRefusal(adapter: Pick<ProviderAdapter, "displayName" | "endpoints">, reason: string, unavailable: { status: number | null } | null): IdTokenRefusal {
  if (unavailable) return providerUnavailable(adapter, new ProviderCallError("server_error", unavailable.status, null, null));
  return mismatch(adapter, reason);
}
