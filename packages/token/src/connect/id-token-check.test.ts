import { describe, expect, it } from "vitest";
import { sha256 } from "../oauth/pkce-state";
import { ProviderCallError } from "../oauth/token-client";
import type { VerifiedIdToken } from "../providers/types";
import { checkIdToken } from "./id-token-check";

const endpoints = { authorization: "https://p/authorize", token: "https://p/token", revocation: "https://p/revoke", api: "https://p/api", jwks: "https://p/jwks" };
const expected = { nonceHash: sha256("the-nonce"), externalId: "realm-1" };
const response = { access_token: "at", refresh_token: "rt", id_token: "header.payload.signature" };

function adapter(verify: () => Promise<VerifiedIdToken>) {
  return { displayName: "QuickBooks Online", endpoints, verifyIdToken: verify };
}

describe("checkIdToken", () => {
  it("accepts a verified id_token carrying the state's nonce and the redirect's realm", async () => {
    expect(await checkIdToken(adapter(() => Promise.resolve({ nonce: "the-nonce", realmId: "realm-1" })), response, expected, 1000)).toBeNull();
  });

  it("refuses as INVALID_STATE an id_token that did not verify, a wrong nonce, a wrong realm, none at all", async () => {
    const cases: [Promise<unknown>, string][] = [
      [checkIdToken(adapter(() => Promise.reject(new Error("invalid signature"))), response, expected, 1000), "id_token_not_verified"],
      [checkIdToken(adapter(() => Promise.resolve({ nonce: "another", realmId: "realm-1" })), response, expected, 1000), "nonce_mismatch"],
      [checkIdToken(adapter(() => Promise.resolve({ nonce: "the-nonce", realmId: "realm-2" })), response, expected, 1000), "realm_mismatch"],
      [checkIdToken(adapter(() => Promise.resolve({ nonce: "the-nonce", realmId: null })), { access_token: "at" }, expected, 1000), "missing_id_token"],
    ];
    for (const [refusal, reason] of cases) {
      expect(await refusal).toMatchObject({ code: "INVALID_STATE", reason, endpoint: endpoints.token, status: 400 });
    }
  });

  it("says the provider was unavailable, not that the sign-in was forged, when its keys could not be fetched", async () => {
    for (const [error, status] of [
      [new ProviderCallError("server_error", 503, null, null), 503],
      [new ProviderCallError("timeout", null, null, null), 0],
    ] as const) {
      const refusal = await checkIdToken(adapter(() => Promise.reject(error)), response, expected, 1000);
      expect(refusal).toMatchObject({ code: "PROVIDER_UNAVAILABLE", reason: "id_token_unverifiable_provider_unavailable", endpoint: endpoints.jwks, method: "GET", status });
      expect(refusal?.message).toBe("QuickBooks Online could not be reached to verify this sign-in. Try connecting again in a few minutes.");
    }
  });
});
