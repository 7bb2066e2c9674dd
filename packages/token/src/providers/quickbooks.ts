import OAuthClient from "intuit-oauth";
import { ProviderCallError, providerFetch } from "../oauth/token-client";
import { fromDefinition, QUICKBOOKS } from "./definitions";
import type { ProviderAdapter, ProviderEndpoints, VerifiedIdToken } from "./types";

export { QUICKBOOKS_ENDPOINTS } from "./definitions";

/**
 * QuickBooks Online (its lifetimes and limits: definitions.ts). The refresh token's value changes
 * about once a day, so every response's refresh token is stored. realmId arrives only on the redirect. Revocation takes a JSON body.
 *
 * Intuit documents no PKCE, so the code is bound to the consent request the OpenID Connect way:
 * `openid` is requested with a nonce bound to the state, and the code exchange's id_token
 * (verified by intuit-oauth's validateIdToken against Intuit's keys) must carry that nonce and
 * the realmId of the redirect. A code obtained under another state is refused.
 */
export function quickbooksAdapter(config: {
  clientId: string;
  clientSecret: string;
  environment: "sandbox" | "production";
  endpoints: ProviderEndpoints;
}): ProviderAdapter {
  return {
    // The previous refresh token stays valid until the new one is used: a lost response is retried with it.
    ...fromDefinition(QUICKBOOKS),
    endpoints: config.endpoints,
    client: { clientId: config.clientId, clientSecret: config.clientSecret, auth: "client_secret_basic" },
    externalIdParam: "realmId",
    verifyIdToken: async (idToken, timeoutMs): Promise<VerifiedIdToken> => {
      // Fetched here, not by the SDK: its fetch has no timeout, retries for seconds and reports an
      // unreachable key set like a bad signature. Unreachable must say "try again", not "forged".
      const keySet = await fetchKeySet(config.endpoints.jwks ?? OAuthClient.jwks_uri, timeoutMs);
      const client = new OAuthClient({ clientId: config.clientId, clientSecret: config.clientSecret, environment: config.environment, redirectUri: "", logging: false });
      // The SDK still checks issuer, audience, expiry and the signature, against the keys fetched above.
      client.loadResponse = () => Promise.resolve({ status: 200, data: keySet });
      client.setToken({ token_type: "bearer", access_token: "", refresh_token: "", expires_in: 0, x_refresh_token_expires_in: 0, id_token: idToken, realmId: "", createdAt: Date.now() });
      if (!(await client.validateIdToken())) throw new Error("id_token not valid");
      const claims = JSON.parse(Buffer.from(idToken.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
      return { nonce: typeof claims.nonce === "string" ? claims.nonce : null, realmId: typeof claims.realmid === "string" ? claims.realmid : null };
    },
    // Intuit reports the 5-year hard expiry only when asked (x_refresh_token_hard_expires_in).
    tokenRequestHeaders: { "x-include-refresh-token-hard-expires-in": "true" },
    checkRequest: (tokens) => ({
      url: `${config.endpoints.api}/v3/company/${encodeURIComponent(tokens.externalId ?? "")}/companyinfo/${encodeURIComponent(tokens.externalId ?? "")}`,
      headers: { authorization: `Bearer ${tokens.accessToken}`, accept: "application/json" },
    }),
    createSdkClient: (tokens, redirectUri) => {
      const client = new OAuthClient({
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        environment: config.environment,
        redirectUri,
        logging: false,
      });
      // intuit-oauth keeps endpoints on the class, shared by every instance in the process:
      // set them to this deployment's endpoints (the same for every caller) on each creation.
      client.setAuthorizeURLs({
        authorizeEndpoint: config.endpoints.authorization,
        tokenEndpoint: config.endpoints.token,
        revokeEndpoint: config.endpoints.revocation ?? config.endpoints.token,
        userInfoEndpoint: `${config.endpoints.api}/v1/openid_connect/userinfo`,
      });
      client.setToken({
        token_type: "bearer",
        access_token: tokens.accessToken,
        refresh_token: tokens.refreshToken ?? "",
        expires_in: Math.max(0, Math.floor((tokens.accessTokenExpiresAt.getTime() - Date.now()) / 1000)),
        x_refresh_token_expires_in: tokens.refreshTokenExpiresAt
          ? Math.max(0, Math.floor((tokens.refreshTokenExpiresAt.getTime() - Date.now()) / 1000))
          : 0,
        realmId: tokens.externalId ?? "",
        createdAt: Date.now(),
      });
      return Promise.resolve(client);
    },
  };
}

/**
 * Intuit's signing keys: one GET under the same timeout (body included). Throws ProviderCallError
 * when they cannot be had (unreachable, timed out, an error status, not a key set).
 */
async function fetchKeySet(url: string, timeoutMs: number): Promise<{ keys: unknown[] }> {
  const response = await providerFetch(url, { headers: { accept: "application/json" } }, timeoutMs);
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    const kind = response.status === 429 ? "rate_limited" : response.status >= 500 ? "server_error" : "rejected";
    throw new ProviderCallError(kind, response.status, null, null);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") throw new ProviderCallError("timeout", null, null, null);
    body = null;
  }
  if (!body || typeof body !== "object" || !Array.isArray((body as { keys?: unknown }).keys)) throw new ProviderCallError("server_error", response.status, null, null);
  return body as { keys: unknown[] };
}
