import OAuthClient from "intuit-oauth";
import type { ProviderAdapter, ProviderEndpoints } from "./types";

export const QUICKBOOKS_ENDPOINTS = {
  production: {
    authorization: "https://appcenter.intuit.com/connect/oauth2",
    token: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    revocation: "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    api: "https://quickbooks.api.intuit.com",
  },
  sandbox: {
    authorization: "https://appcenter.intuit.com/connect/oauth2",
    token: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    revocation: "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    api: "https://sandbox-quickbooks.api.intuit.com",
  },
} satisfies Record<string, ProviderEndpoints>;

/**
 * QuickBooks Online. Access tokens live 1 h; the refresh token rolls for 100 days (5-year cap)
 * and its value changes about once a day, so every response's refresh token is stored.
 * realmId arrives only on the redirect. Revocation takes a JSON body.
 */
export function quickbooksAdapter(config: {
  clientId: string;
  clientSecret: string;
  environment: "sandbox" | "production";
  endpoints: ProviderEndpoints;
}): ProviderAdapter {
  return {
    id: "quickbooks",
    displayName: "QuickBooks Online",
    endpoints: config.endpoints,
    client: { clientId: config.clientId, clientSecret: config.clientSecret, auth: "client_secret_basic" },
    scopes: ["com.intuit.quickbooks.accounting"],
    pkce: false,
    revocationStyle: "json",
    defaultAccessTokenTtlSec: 3600,
    // The previous value stays valid until the new one is used: a lost response is retried with it.
    refreshToken: { idleTtlSec: 100 * 24 * 3600, graceSec: 24 * 3600 },
    externalIdParam: "realmId",
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
