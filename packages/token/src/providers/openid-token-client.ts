import * as oidc from "openid-client";
import { IdTokenRejectedError, type CodeExchange, type TokenEndpointCalls } from "../oauth/token-calls";
import { classify, ProviderCallError, providerFetch, tokenResponseFrom, type TokenResponse } from "../oauth/token-client";

export const TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** How the client authenticates at the token and revocation endpoints. */
export type ClientAuthentication =
  | { method: "client_secret_basic" | "client_secret_post"; clientSecret: string }
  | { method: "private_key_jwt"; privateKey: oidc.CryptoKey; keyId: string | undefined };

/** Where plain http may go: loopback outside production, and in production only the simulator PROVIDER_SIMULATOR_URL names. */
export interface PlainHttpPolicy {
  production: boolean;
  simulatorUrl: string | null;
}

/**
 * https always; http:// only to a loopback host, and in production only to the simulator an
 * operator configured explicitly (as the QuickBooks and Xero simulated adapters are): never to
 * a real provider.
 */
export function plainHttpAllowed(url: string, policy: PlainHttpPolicy): boolean {
  const parsed = new URL(url);
  if (parsed.protocol === "https:") return true;
  const loopback = parsed.hostname === "localhost" || parsed.hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(parsed.hostname);
  if (parsed.protocol !== "http:" || !loopback) return false;
  return !policy.production || (policy.simulatorUrl !== null && new URL(policy.simulatorUrl).origin === parsed.origin);
}

/** The errors behind an error (openid-client wraps what failed, e.g. our fetch's ProviderCallError). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && chain.length < 8; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/** Which check an id_token failed, from oauth4webapi's error codes and the claim they name. */
function refusalReason(error: unknown): IdTokenRejectedError["reason"] {
  for (const e of causes(error)) {
    if (typeof e !== "object" || e === null) continue;
    const { code, message } = e as { code?: unknown; message?: unknown };
    const claim = (e as { cause?: { claim?: unknown } }).cause?.claim;
    if (code === "OAUTH_JWT_CLAIM_COMPARISON_FAILED") {
      if (claim === "nonce") return "nonce_mismatch";
      if (claim === "iss") return "issuer_mismatch";
      if (claim === "aud" || claim === "azp") return "audience_mismatch";
    }
    if (code === "OAUTH_JWT_TIMESTAMP_CHECK_FAILED") return "id_token_expired";
    if (code === "OAUTH_KEY_SELECTION_FAILED" || (typeof message === "string" && message.includes("signature verification failed"))) return "id_token_signature_invalid";
    if (typeof message === "string" && /"ID Token" missing/i.test(message)) return "missing_id_token";
  }
  return "id_token_not_verified";
}

/**
 * A generic provider's token endpoint calls through openid-client 6 (oauth4webapi): client
 * authentication by the configured method, and for OpenID providers an id_token verified on
 * every code exchange (signature against the provider's JWKS, issuer, audience, expiry, nonce).
 * Each call builds its own Configuration around our fetch, which bounds it by the timeout and
 * keeps the token endpoint's response: its status classifies a failure as the other providers'
 * do, and a refused id_token's grant can still be revoked.
 */
export class OpenIdTokenClient implements TokenEndpointCalls {
  private jwksCache: oidc.ExportedJWKSCache | undefined;

  private constructor(
    private readonly server: oidc.ServerMetadata,
    private readonly clientId: string,
    private readonly auth: ClientAuthentication,
    private readonly plainHttp: boolean,
  ) {}

  /** OpenID Connect Discovery (or RFC 8414) of `issuer`; throws when it cannot be had. */
  static async discover(input: { issuer: string; clientId: string; auth: ClientAuthentication; http: PlainHttpPolicy; timeoutMs: number }): Promise<OpenIdTokenClient> {
    const plainHttp = new URL(input.issuer).protocol === "http:";
    if (!plainHttpAllowed(input.issuer, input.http)) throw new Error("the issuer must be an https URL (http only to loopback, outside production)");
    const config = await oidc.discovery(new URL(input.issuer), input.clientId, undefined, undefined, {
      execute: plainHttp ? [oidc.allowInsecureRequests] : [],
      timeout: Math.max(1, Math.ceil(input.timeoutMs / 1000)),
    });
    return OpenIdTokenClient.fromMetadata(config.serverMetadata(), input);
  }

  static fromMetadata(server: oidc.ServerMetadata, input: { clientId: string; auth: ClientAuthentication; http: PlainHttpPolicy }): OpenIdTokenClient {
    const urls = [server.issuer, server.authorization_endpoint, server.token_endpoint, server.revocation_endpoint, server.jwks_uri, server.userinfo_endpoint];
    for (const url of urls) if (url && !plainHttpAllowed(url, input.http)) throw new Error("every endpoint must be an https URL (http only to loopback, outside production)");
    return new OpenIdTokenClient(server, input.clientId, input.auth, urls.some((url) => url?.startsWith("http:")));
  }

  get metadata(): oidc.ServerMetadata {
    return this.server;
  }

  /**
   * An openid-client Configuration for this provider and client: what getOAuthClient hands out,
   * and, with a fetch of our own, what each call uses.
   */
  configuration(fetchImpl?: oidc.CustomFetch, timeoutMs?: number): oidc.Configuration {
    const { auth } = this;
    const clientAuth =
      auth.method === "private_key_jwt"
        ? oidc.PrivateKeyJwt(auth.keyId ? { key: auth.privateKey, kid: auth.keyId } : auth.privateKey)
        : auth.method === "client_secret_post"
          ? oidc.ClientSecretPost(auth.clientSecret)
          : oidc.ClientSecretBasic(auth.clientSecret);
    const config = new oidc.Configuration(this.server, this.clientId, undefined, clientAuth);
    if (this.plainHttp) oidc.allowInsecureRequests(config);
    if (this.server.jwks_uri) oidc.enableNonRepudiationChecks(config); // the id_token's signature, not only its claims
    if (this.jwksCache) oidc.setJwksCache(config, this.jwksCache);
    if (fetchImpl) config[oidc.customFetch] = fetchImpl;
    if (timeoutMs !== undefined) config.timeout = Math.max(1, Math.ceil(timeoutMs / 1000));
    return config;
  }

  /** Runs one call on a fresh Configuration; maps what failed to ProviderCallError (or the id_token's refusal). */
  private async call<T>(timeoutMs: number, run: (config: oidc.Configuration) => Promise<T>, expectIdToken = false, keepGranted?: (body: unknown) => T): Promise<T> {
    let posted: Response | undefined;
    let keysFailed: { status: number | null } | null = null;
    const config = this.configuration(async (url, options) => {
      let response: Response;
      try {
        response = await providerFetch(url, { method: options.method, headers: options.headers, body: options.body as RequestInit["body"] }, timeoutMs);
      } catch (error) {
        if (options.method !== "POST") keysFailed = { status: null };
        throw error;
      }
      if (options.method === "POST") posted = response.clone();
      else if (!response.ok) keysFailed = { status: response.status };
      return response;
    }, timeoutMs);
    try {
      const result = await run(config);
      this.jwksCache = oidc.getJwksCache(config) ?? this.jwksCache;
      return result;
    } catch (error) {
      const sent: Response | undefined = posted;
      if (sent && !sent.ok) throw await classify(sent);
      if (sent?.ok && keepGranted) return keepGranted(await sent.json().catch(() => null));
      if (sent?.ok && expectIdToken) {
        // The provider granted: hand back what to revoke, since this grant must not be kept.
        const grant = await sent.json().then((body: unknown) => tokenResponseFrom(body, sent.status), () => null);
        throw new IdTokenRejectedError(keysFailed ? "id_token_not_verified" : refusalReason(error), keysFailed, grant);
      }
      const transport = causes(error).find((e): e is ProviderCallError => e instanceof ProviderCallError);
      if (transport) throw transport;
      throw new ProviderCallError("server_error", sent?.status ?? null, "invalid_response", null);
    }
  }

  async exchangeCode(input: CodeExchange, timeoutMs: number): Promise<TokenResponse> {
    // openid-client takes the redirect as the URL it arrived at: the registered redirect URI plus its parameters.
    const current = new URL(input.redirectUri);
    for (const [name, value] of input.callbackParams) current.searchParams.append(name, value);
    const result = await this.call(
      timeoutMs,
      (config) =>
        oidc.authorizationCodeGrant(config, current, {
          expectedState: input.state,
          ...(input.codeVerifier ? { pkceCodeVerifier: input.codeVerifier } : {}),
          ...(input.nonce ? { expectedNonce: input.nonce, idTokenExpected: true } : {}),
        }),
      input.nonce !== null,
    );
    return tokenResponseFrom(result, 200);
  }

  async refresh(refreshToken: string, timeoutMs: number): Promise<TokenResponse> {
    // A refresh the provider answered 200 has rotated the refresh token: its response is kept even
    // when openid-client refuses the id_token inside it (or cannot fetch the keys for it), since
    // dropping it would spend the grant. Nothing in a refreshed id_token is relied on.
    const body = await this.call(timeoutMs, (config) => oidc.refreshTokenGrant(config, refreshToken), false, (raw) => raw);
    return tokenResponseFrom(body, 200);
  }

  async revoke(token: string, timeoutMs: number): Promise<void> {
    try {
      await this.call(timeoutMs, (config) => oidc.tokenRevocation(config, token, { token_type_hint: "refresh_token" }));
    } catch (error) {
      // RFC 7009 §2.2: an already invalid token is gone too, which is what was asked.
      if (error instanceof ProviderCallError && (error.kind === "invalid_grant" || error.oauthError === "invalid_token")) return;
      throw error;
    }
  }
}
