import type { JWTPayload } from "jose";
import { handleAuthorize, handleDecision, type AuthorizeConfig } from "./authorize";
import { DAY, HOUR, MINUTE } from "./clock";
import type { RequestContext } from "./context";
import { empty, json, oauthError, readForm, type SimResponse } from "./http";
import { randomToken } from "./ids";
import { accessTokenHash } from "./keys";
import type { Route } from "./router";
import { authenticateRequestClient } from "./client-assertion";
import { checkBearer, grantForToken, handleTokenRequest, requireString, secondsLeft, type ProviderPolicy } from "./tokens";

export function oidcIssuer(baseUrl: string): string {
  return `${baseUrl}/oidc`;
}

/** A by-the-book provider: PKCE required, refresh tokens rotate on every use with no grace; client_credentials for services. */
export const oidcPolicy: ProviderPolicy = {
  provider: "oidc",
  accessTtlMs: HOUR,
  codeTtlMs: 10 * MINUTE,
  clientAuthMethods: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
  assertionAudiences: (ctx) => [oidcIssuer(ctx.sim.baseUrl), `${oidcIssuer(ctx.sim.baseUrl)}/token`],
  requirePkce: true,
  refreshTtlMs: 30 * DAY,
  hardLifetimeMs: undefined,
  rotateAfterMs: 0,
  graceMs: 0,
  graceEndsWhenNewTokenUsed: false,
  clientCredentials: true,
  newRefreshValue: () => randomToken(32),
  newAccessValue: () => randomToken(32),
  async tokenResponse({ ctx, grant, access, refresh, client, fromCode }) {
    const body: Record<string, unknown> = {
      access_token: access.value,
      token_type: "Bearer",
      expires_in: secondsLeft(access.issuedAt, access.expiresAt),
      refresh_token: refresh.value,
      scope: grant.scope.join(" "),
    };
    if (grant.scope.includes("openid")) {
      const now = Math.floor(ctx.sim.clock.now() / 1000);
      const user = ctx.sim.users.oidc;
      const fault = ctx.sim.settings.oidcIdTokenFault;
      const sign = fault === "bad_signature" ? (payload: JWTPayload) => ctx.sim.keys.signWithStrangerKey(payload) : (payload: JWTPayload) => ctx.sim.keys.sign(payload);
      body.id_token = await sign({
        iss: fault === "wrong_issuer" ? `${oidcIssuer(ctx.sim.baseUrl)}-other` : oidcIssuer(ctx.sim.baseUrl),
        aud: fault === "wrong_audience" ? `${client.clientId}-other` : client.clientId,
        sub: user.sub,
        iat: now,
        exp: now + 3600,
        auth_time: Math.floor(grant.authTime / 1000),
        at_hash: accessTokenHash(access.value),
        email: user.email,
        email_verified: true,
        name: `${user.givenName} ${user.familyName}`,
        ...(fromCode && grant.nonce ? { nonce: fault === "wrong_nonce" ? `${grant.nonce}-other` : grant.nonce } : {}),
      });
    }
    return body;
  },
};

const authorizeConfig: AuthorizeConfig = {
  provider: "oidc",
  providerName: "Simulator OpenID Provider",
  decisionPath: "/oidc/authorize/decision",
  pkce: "required",
  codeTtlMs: oidcPolicy.codeTtlMs,
  redirectExtras: () => ({}),
};

function discovery(ctx: RequestContext): SimResponse {
  const issuer = oidcIssuer(ctx.sim.baseUrl);
  return json(200, {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    revocation_endpoint: `${issuer}/revoke`,
    jwks_uri: `${issuer}/jwks`,
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    token_endpoint_auth_signing_alg_values_supported: ["RS256", "PS256", "ES256", "EdDSA"],
    revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    revocation_endpoint_auth_signing_alg_values_supported: ["RS256", "PS256", "ES256", "EdDSA"],
    code_challenge_methods_supported: ["S256"],
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name"],
  });
}

/** RFC 7009: a refresh token ends the grant; an access token only itself; unknown tokens still get 200. */
async function revoke(ctx: RequestContext): Promise<SimResponse> {
  const form = await readForm(ctx.req);
  const client = await authenticateRequestClient(ctx, form, oidcPolicy, oidcPolicy.assertionAudiences?.(ctx) ?? []);
  if ("status" in client) return client;
  const token = requireString(form.token, "token");
  const hint = form.token_type_hint;
  if (hint !== undefined && hint !== "refresh_token" && hint !== "access_token") {
    return oauthError(400, "unsupported_token_type", `token_type_hint "${hint}" is not supported`);
  }
  const found = grantForToken(ctx, "oidc", token);
  if (found && found.grant.clientId !== client.clientId) return oauthError(400, "invalid_request", "token was issued to another client");
  const now = ctx.sim.clock.now();
  if (found?.kind === "refresh") ctx.sim.store.revokeGrant(found.grant, "client_revocation", now);
  if (found?.access) found.access.revokedAt ??= now;
  return empty(200);
}

function userInfo(ctx: RequestContext): SimResponse {
  const check = checkBearer(ctx, "oidc");
  if (!check.ok) return oauthError(401, "invalid_token", check.reason, { "www-authenticate": `Bearer error="invalid_token", error_description="${check.reason}"` });
  if (!check.grant.scope.includes("openid")) return oauthError(403, "insufficient_scope", "the openid scope is required");
  const user = ctx.sim.users.oidc;
  return json(200, { sub: user.sub, email: user.email, email_verified: true, name: `${user.givenName} ${user.familyName}`, given_name: user.givenName, family_name: user.familyName });
}

export const oidcRoutes: Route[] = [
  { methods: ["GET"], path: "/oidc/.well-known/openid-configuration", provider: "oidc", endpoint: "discovery", handle: discovery },
  { methods: ["GET"], path: "/oidc/jwks", provider: "oidc", endpoint: "jwks", handle: (ctx) => json(200, ctx.sim.keys.jwks()) },
  { methods: ["GET"], path: "/oidc/authorize", provider: "oidc", endpoint: "authorize", handle: (ctx) => handleAuthorize(ctx, authorizeConfig) },
  { methods: ["GET", "POST"], path: "/oidc/authorize/decision", provider: "oidc", endpoint: "authorize", handle: (ctx) => handleDecision(ctx, authorizeConfig) },
  { methods: ["POST"], path: "/oidc/token", provider: "oidc", endpoint: "token", manualFaults: true, handle: (ctx) => handleTokenRequest(ctx, oidcPolicy) },
  { methods: ["POST"], path: "/oidc/revoke", provider: "oidc", endpoint: "revoke", handle: revoke },
  { methods: ["GET", "POST"], path: "/oidc/userinfo", provider: "oidc", endpoint: "userinfo", handle: userInfo },
];
