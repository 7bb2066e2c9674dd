import { custom, Issuer } from "openid-client";
import type { ProviderAdapter, ProviderEndpoints } from "./types";

export interface GenericProviderConfig {
  id: string;
  displayName: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  /** Either an issuer to discover (OpenID Connect Discovery / RFC 8414)... */
  issuer?: string;
  /** ...or the endpoints themselves. */
  endpoints?: Partial<ProviderEndpoints> & { authorization: string; token: string };
  /** The API call used by live checks (default: the userinfo endpoint). */
  checkUrl?: string;
}

/**
 * Any standards-compliant OAuth 2.0 / OpenID Connect server. Metadata comes from openid-client's
 * discovery; PKCE S256 is always used; refresh tokens are assumed to rotate with no grace.
 */
export async function genericOidcAdapter(config: GenericProviderConfig, timeoutMs = 5_000): Promise<ProviderAdapter> {
  let endpoints: ProviderEndpoints;
  let userinfo: string | undefined;
  if (config.issuer) {
    // Per-call HTTP options: never the process-wide defaults, which other code may rely on.
    const issuer = await Issuer.discover(config.issuer).catch(() => {
      throw new Error(`Cannot discover the OpenID configuration of provider "${config.id}" at its issuer URL.`);
    });
    issuer[custom.http_options] = (_url, options) => ({ ...options, timeout: timeoutMs });
    const meta = issuer.metadata;
    if (!meta.authorization_endpoint || !meta.token_endpoint) {
      throw new Error(`Provider "${config.id}": the discovered metadata has no authorization or token endpoint.`);
    }
    userinfo = meta.userinfo_endpoint;
    endpoints = {
      authorization: meta.authorization_endpoint,
      token: meta.token_endpoint,
      revocation: meta.revocation_endpoint ?? null,
      api: config.endpoints?.api ?? meta.userinfo_endpoint ?? meta.issuer,
    };
  } else if (config.endpoints) {
    endpoints = { revocation: null, api: config.endpoints.token, ...config.endpoints };
  } else {
    throw new Error(`Provider "${config.id}" needs an issuer or endpoints.`);
  }
  const checkUrl = config.checkUrl ?? userinfo ?? null;
  return {
    id: config.id,
    displayName: config.displayName,
    endpoints,
    client: { clientId: config.clientId, clientSecret: config.clientSecret, auth: "client_secret_basic" },
    scopes: config.scopes,
    pkce: true,
    revocationStyle: "form",
    defaultAccessTokenTtlSec: 3600,
    refreshToken: { idleTtlSec: null, graceSec: 0 },
    externalIdParam: null,
    checkRequest: (tokens) => {
      if (!checkUrl) throw new Error(`Provider "${config.id}" has no check URL.`);
      return { url: checkUrl, headers: { authorization: `Bearer ${tokens.accessToken}`, accept: "application/json" } };
    },
    createSdkClient: async (tokens, redirectUri) => {
      const issuer = new Issuer({
        issuer: config.issuer ?? endpoints.authorization,
        authorization_endpoint: endpoints.authorization,
        token_endpoint: endpoints.token,
        ...(endpoints.revocation ? { revocation_endpoint: endpoints.revocation } : {}),
        ...(userinfo ? { userinfo_endpoint: userinfo } : {}),
      });
      const client = new issuer.Client({ client_id: config.clientId, client_secret: config.clientSecret, redirect_uris: [redirectUri] });
      client[custom.http_options] = (_url, options) => ({ ...options, timeout: timeoutMs });
      return Promise.resolve({ client, tokenSet: { access_token: tokens.accessToken, token_type: "Bearer", expires_at: Math.floor(tokens.accessTokenExpiresAt.getTime() / 1000) } });
    },
  };
}
