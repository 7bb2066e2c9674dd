import { createHash } from "node:crypto";
import * as oidc from "openid-client";
import { OPError } from "./openid-client-errors";

// These tests drive the simulator with openid-client 6 (the project's OpenID client) as a real
// third-party client would. They were written against openid-client 5's object API; this file
// gives openid-client 6 that shape (an Issuer with a Client, token sets with claims(), OPError),
// so each test still reads as one client conversation. Everything it does is openid-client 6's:
// discovery, authorization URLs, callback validation (state, nonce, PKCE, the id_token's claims
// and signature), refresh, revocation, userinfo and grants.

export * as errors from "./openid-client-errors";

/** openid-client 6's errors as openid-client 5 raised them: OAuth errors as OPError, socket errors as themselves. */
async function asOPError(error: unknown): Promise<unknown> {
  if (error instanceof oidc.ResponseBodyError) return new OPError(error.error, error.error_description, { statusCode: error.status });
  if (error instanceof oidc.AuthorizationResponseError) return new OPError(error.error, error.error_description, undefined);
  if (error instanceof oidc.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0];
    return new OPError(challenge?.parameters.error ?? "invalid_request", challenge?.parameters.error_description, { statusCode: error.status });
  }
  const cause = (error as { cause?: unknown }).cause;
  // A 5xx: openid-client 6 hands over the response; its OAuth error body is what the provider said.
  if (cause instanceof Response) {
    const body = (await cause.json().catch(() => ({}))) as { error?: string; error_description?: string };
    return new OPError(body.error ?? "server_error", body.error_description, { statusCode: cause.status });
  }
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return e;
    // fetch (undici) names the peer closing the socket mid-response UND_ERR_SOCKET; node:http,
    // under openid-client 5, named the same event ECONNRESET. The socket error is kept as the cause.
    if (code === "UND_ERR_SOCKET") return Object.assign(new Error("socket closed by the provider", { cause: e }), { code: "ECONNRESET" });
  }
  return error;
}

async function op<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw await asOPError(error);
  }
}

export const generators = {
  state: () => oidc.randomState(),
  nonce: () => oidc.randomNonce(),
  codeVerifier: () => oidc.randomPKCECodeVerifier(),
  codeChallenge: (verifier: string) => createHash("sha256").update(verifier).digest("base64url"),
};

/** A token endpoint response with openid-client 5's helpers. */
export interface TokenSet {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  claims(): oidc.IDToken;
}

function tokenSet(response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, rawTokenType: string | undefined): TokenSet {
  return Object.assign({}, response, {
    token_type: rawTokenType ?? response.token_type,
    claims: () => {
      const claims = response.claims();
      if (!claims) throw new Error("the token set has no id_token");
      return claims;
    },
  });
}

interface ClientOptions {
  client_id: string;
  client_secret?: string;
  redirect_uris?: string[];
  response_types?: string[];
  token_endpoint_auth_method?: "client_secret_basic" | "client_secret_post";
}

export type BaseClient = InstanceType<Issuer["Client"]>;

export class Issuer {
  readonly Client;

  private constructor(readonly metadata: oidc.ServerMetadata) {
    const server = metadata;
    this.Client = class Client {
      private readonly config: oidc.Configuration;
      /** The token_type of the last token response as sent (oauth4webapi lower-cases it; openid-client 5 kept it). */
      private rawTokenType: string | undefined;

      constructor(readonly options: ClientOptions) {
        const auth = options.token_endpoint_auth_method === "client_secret_post" ? oidc.ClientSecretPost(options.client_secret) : oidc.ClientSecretBasic(options.client_secret);
        this.config = new oidc.Configuration(server, options.client_id, options.client_secret, auth);
        oidc.allowInsecureRequests(this.config); // the simulator on loopback
        oidc.enableNonRepudiationChecks(this.config); // id_token signatures too, as openid-client 5 checked them
        this.config[oidc.customFetch] = async (url, init) => {
          const response = await fetch(url, init);
          if (init.method === "POST" && response.ok) {
            this.rawTokenType = await response
              .clone()
              .json()
              .then((body: unknown) => (body as { token_type?: string }).token_type, () => undefined);
          }
          return response;
        };
      }

      authorizationUrl(params: Record<string, string>): string {
        return oidc.buildAuthorizationUrl(this.config, { response_type: "code", redirect_uri: this.options.redirect_uris?.[0] ?? "", ...params }).href;
      }

      callbackParams(url: string): URLSearchParams {
        return new URL(url).searchParams;
      }

      /** The OpenID Connect callback: an id_token is required, its nonce checked when given. */
      callback(redirectUri: string, params: URLSearchParams, checks: { state?: string; nonce?: string; code_verifier?: string }): Promise<TokenSet> {
        return this.exchange(redirectUri, params, checks, true);
      }

      /** The plain OAuth 2.0 callback: no id_token needed. */
      oauthCallback(redirectUri: string, params: URLSearchParams, checks: { state?: string; code_verifier?: string }): Promise<TokenSet> {
        return this.exchange(redirectUri, params, checks, false);
      }

      private async exchange(redirectUri: string, params: URLSearchParams, checks: { state?: string; nonce?: string; code_verifier?: string }, idToken: boolean): Promise<TokenSet> {
        const current = new URL(redirectUri);
        for (const [name, value] of params) current.searchParams.append(name, value);
        const result = await op(() =>
            oidc.authorizationCodeGrant(this.config, current, {
              expectedState: checks.state,
              ...(checks.nonce ? { expectedNonce: checks.nonce } : {}),
              ...(checks.code_verifier ? { pkceCodeVerifier: checks.code_verifier } : {}),
              idTokenExpected: idToken,
            }),
        );
        return tokenSet(result, this.rawTokenType);
      }

      async refresh(tokens: TokenSet | string): Promise<TokenSet> {
        const refreshToken = typeof tokens === "string" ? tokens : tokens.refresh_token;
        if (!refreshToken) throw new Error("no refresh token");
        const result = await op(() => oidc.refreshTokenGrant(this.config, refreshToken));
        return tokenSet(result, this.rawTokenType);
      }

      revoke(token: string, hint?: "access_token" | "refresh_token"): Promise<void> {
        return op(() => oidc.tokenRevocation(this.config, token, hint ? { token_type_hint: hint } : undefined));
      }

      userinfo(tokens: TokenSet | string): Promise<oidc.UserInfoResponse> {
        const accessToken = typeof tokens === "string" ? tokens : tokens.access_token!;
        const subject = typeof tokens === "string" ? oidc.skipSubjectCheck : tokens.claims().sub;
        return op(() => oidc.fetchUserInfo(this.config, accessToken, subject));
      }

      async grant(body: Record<string, string>): Promise<TokenSet> {
        const { grant_type: grantType, ...params } = body;
        const result = await op(() => oidc.genericGrantRequest(this.config, grantType ?? "", params));
        return tokenSet(result, this.rawTokenType);
      }
    };
  }

  get issuer(): string {
    return this.metadata.issuer;
  }

  static async discover(url: string): Promise<Issuer> {
    const config = await oidc.discovery(new URL(url), "discovery", undefined, undefined, { execute: [oidc.allowInsecureRequests] });
    return new Issuer(config.serverMetadata());
  }
}
