import type * as oidc from "openid-client";
import { OpenIdTokenClient, type ClientAuthentication } from "./openid-token-client";
import { GENERIC_PROVIDER_DEFAULTS } from "./definitions";
import type { GenericOAuthClient, ProviderAdapter, ProviderEndpoints, ProviderLimits } from "./types";

export interface GenericProviderConfig {
  id: string;
  displayName: string;
  clientId: string;
  /** For client_secret_basic (the default) and client_secret_post. */
  clientSecret?: string;
  /** How the client authenticates at the token and revocation endpoints; default client_secret_basic with clientSecret. */
  clientAuth?: ClientAuthentication;
  scopes: string[];
  /** The scopes one connect may add (OIDC_PROVIDERS `optionalScopes`); absent: none. */
  optionalScopes?: string[];
  /** Either an issuer to discover (OpenID Connect Discovery / RFC 8414)... */
  issuer?: string;
  /** ...or the endpoints themselves (plain OAuth 2.0: no id_token is checked). */
  endpoints?: Partial<ProviderEndpoints> & { authorization: string; token: string };
  /** The API call used by live checks (default: the userinfo endpoint). */
  checkUrl?: string;
  /** Production refuses plain http but to the configured simulator; outside it, http is allowed to loopback only. */
  production?: boolean;
  /** PROVIDER_SIMULATOR_URL, when set. */
  simulatorUrl?: string | null;
  /** The refresh token's idle lifetime as the provider documents it; absent: unknown (the worker's generic one). */
  refreshIdleTtlSec?: number;
  /** Per-tenant limits; each absent one from GENERIC_PROVIDER_DEFAULTS. */
  limits?: Partial<ProviderLimits>;
}

/**
 * Any standards-compliant OAuth 2.0 / OpenID Connect server, through openid-client 6: metadata
 * from discovery, PKCE S256 always, the configured client authentication, and for OpenID
 * providers (an issuer and the `openid` scope) an id_token verified on every connect, nonce
 * included. Refresh tokens are assumed to rotate with no grace.
 */
export async function genericOidcAdapter(config: GenericProviderConfig, timeoutMs = 5_000): Promise<ProviderAdapter> {
  const auth: ClientAuthentication = config.clientAuth ?? { method: "client_secret_basic", clientSecret: config.clientSecret ?? "" };
  if (auth.method !== "private_key_jwt" && !auth.clientSecret) throw new Error(`Provider "${config.id}" needs a clientSecret for ${auth.method}.`);
  const http = { production: config.production ?? false, simulatorUrl: config.simulatorUrl ?? null };
  let client: OpenIdTokenClient;
  if (config.issuer) {
    const issuer = config.issuer;
    client = await OpenIdTokenClient.discover({ issuer, clientId: config.clientId, auth, http, timeoutMs }).catch((error: unknown) => {
      const detail = error instanceof Error && error.message.includes("https") ? ` (${error.message})` : "";
      throw new Error(`Cannot discover the OpenID configuration of provider "${config.id}" at its issuer URL${detail}.`);
    });
    if (!client.metadata.authorization_endpoint || !client.metadata.token_endpoint) {
      throw new Error(`Provider "${config.id}": the discovered metadata has no authorization or token endpoint.`);
    }
  } else if (config.endpoints) {
    const metadata: oidc.ServerMetadata = {
      issuer: config.endpoints.authorization,
      authorization_endpoint: config.endpoints.authorization,
      token_endpoint: config.endpoints.token,
      ...(config.endpoints.revocation ? { revocation_endpoint: config.endpoints.revocation } : {}),
    };
    try {
      client = OpenIdTokenClient.fromMetadata(metadata, { clientId: config.clientId, auth, http });
    } catch (error) {
      throw new Error(`Provider "${config.id}": ${error instanceof Error ? error.message : "bad endpoints"}.`);
    }
  } else {
    throw new Error(`Provider "${config.id}" needs an issuer or endpoints.`);
  }
  const meta = client.metadata;
  const userinfo = meta.userinfo_endpoint;
  const endpoints: ProviderEndpoints = config.issuer
    ? {
        authorization: meta.authorization_endpoint!,
        token: meta.token_endpoint!,
        revocation: meta.revocation_endpoint ?? null,
        api: config.endpoints?.api ?? userinfo ?? meta.issuer,
        ...(meta.jwks_uri ? { jwks: meta.jwks_uri } : {}),
      }
    : { revocation: null, api: config.endpoints!.token, ...config.endpoints! };
  const checkUrl = config.checkUrl ?? userinfo ?? null;
  const openid = Boolean(config.issuer && meta.jwks_uri && config.scopes.includes("openid"));
  return {
    id: config.id,
    displayName: config.displayName,
    endpoints,
    client: { clientId: config.clientId, clientSecret: auth.method === "private_key_jwt" ? "" : auth.clientSecret, auth: auth.method === "client_secret_post" ? "client_secret_post" : "client_secret_basic" },
    scopes: config.scopes,
    optionalScopes: config.optionalScopes ?? [],
    pkce: true,
    revocationStyle: "form",
    defaultAccessTokenTtlSec: GENERIC_PROVIDER_DEFAULTS.lifetimes.accessTtlSec,
    refreshToken: { idleTtlSec: config.refreshIdleTtlSec ?? GENERIC_PROVIDER_DEFAULTS.lifetimes.refreshIdleTtlSec, graceSec: GENERIC_PROVIDER_DEFAULTS.lifetimes.refreshGraceSec },
    limits: { ...GENERIC_PROVIDER_DEFAULTS.limits, ...config.limits },
    externalIdParam: null,
    tokenCalls: client,
    expectsIdToken: openid,
    checkRequest: (tokens) => {
      if (!checkUrl) throw new Error(`Provider "${config.id}" has no check URL.`);
      return { url: checkUrl, headers: { authorization: `Bearer ${tokens.accessToken}`, accept: "application/json" } };
    },
    createSdkClient: (tokens): Promise<GenericOAuthClient> =>
      Promise.resolve({
        kind: "openid-client",
        provider: config.id,
        configuration: client.configuration(undefined, timeoutMs),
        tokenSet: {
          access_token: tokens.accessToken,
          refresh_token: tokens.refreshToken ?? undefined,
          token_type: "Bearer",
          expires_at: Math.floor(tokens.accessTokenExpiresAt.getTime() / 1000),
        },
      }),
  };
}
