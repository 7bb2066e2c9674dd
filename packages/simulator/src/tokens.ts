import type { ClientRecord, Provider } from "./clients";
import { isStrict, type RequestContext } from "./context";
import { bearerToken, HttpError, json, oauthError, parseBasicAuth, readForm, type SimResponse } from "./http";
import { authenticateRequestClient } from "./client-assertion";
import { pkceS256 } from "./keys";
import type { AccessTokenRecord, Grant, RefreshTokenRecord } from "./state";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt" | "none";

/** The knobs that make one provider's token endpoint behave like the real one. */
export interface ProviderPolicy {
  provider: Provider;
  accessTtlMs: number;
  codeTtlMs: number;
  clientAuthMethods: readonly ClientAuthMethod[];
  requirePkce: boolean;
  /** Lifetime of a newly issued refresh token value. */
  refreshTtlMs: number;
  /** Absolute cap on the grant, after which no refresh works (Intuit: 5 years). */
  hardLifetimeMs: number | undefined;
  /** A refresh hands out a new value only when the presented one is at least this old (0: every time). */
  rotateAfterMs: number;
  /** How long a replaced value keeps working. */
  graceMs: number;
  /** Intuit: the replaced value dies as soon as the new one is used. */
  graceEndsWhenNewTokenUsed: boolean;
  /** Who a private_key_jwt assertion may be addressed to (the issuer, the token endpoint). */
  assertionAudiences?: (ctx: RequestContext) => string[];
  /** Offers the client_credentials grant (RFC 6749 §4.4): a confidential client gets a token for itself. */
  clientCredentials?: boolean;
  newRefreshValue(): string;
  newAccessValue(ctx: RequestContext, grant: Grant): string | Promise<string>;
  tokenResponse(input: TokenResponseInput): Promise<Record<string, unknown>>;
}

export interface TokenResponseInput {
  ctx: RequestContext;
  grant: Grant;
  access: AccessTokenRecord;
  refresh: RefreshTokenRecord;
  client: ClientRecord;
  /** True on the code exchange: the only response whose id_token carries the nonce. */
  fromCode: boolean;
}

function seconds(ms: number): number {
  return Math.max(0, Math.floor(ms / 1000));
}

/** Seconds from `now` (the request's issue time, so one response is self-consistent) until `expiresAt`. */
export function secondsLeft(now: number, expiresAt: number): number {
  return seconds(expiresAt - now);
}

/** Whether `method` is one the client may use: its registered token_endpoint_auth_method, or any when none was registered. */
export function registeredMethod(client: ClientRecord, method: NonNullable<ClientRecord["tokenEndpointAuthMethod"]>): boolean {
  return client.tokenEndpointAuthMethod === undefined || client.tokenEndpointAuthMethod === method;
}

/** RFC 6749 §2.3 client authentication, limited to the methods the provider accepts. */
export function authenticateClient(ctx: RequestContext, form: Record<string, string>, policy: ProviderPolicy): ClientRecord | SimResponse {
  const invalid = (description: string) => oauthError(401, "invalid_client", description, { "www-authenticate": 'Basic realm="simulator"' });
  const basic = parseBasicAuth(ctx.req);
  if (basic === "malformed") return invalid("malformed Authorization header");
  const postSecret = form.client_secret;
  if (basic && postSecret !== undefined) return oauthError(400, "invalid_request", "use only one client authentication method");
  if (basic) {
    if (!policy.clientAuthMethods.includes("client_secret_basic")) return invalid("client_secret_basic is not supported");
    for (const creds of [basic.raw, basic.decoded]) {
      const client = ctx.sim.clients.get(policy.provider, creds.clientId);
      if (client?.clientSecret !== undefined && client.clientSecret === creds.clientSecret) {
        if (!registeredMethod(client, "client_secret_basic")) return invalid("this client is registered for another authentication method");
        if (form.client_id !== undefined && form.client_id !== client.clientId) return oauthError(400, "invalid_request", "client_id does not match the authenticated client");
        return client;
      }
    }
    return invalid("client authentication failed");
  }
  const client = ctx.sim.clients.get(policy.provider, form.client_id);
  if (postSecret !== undefined) {
    if (!policy.clientAuthMethods.includes("client_secret_post")) return invalid("client_secret_post is not supported; use HTTP Basic");
    if (client?.clientSecret !== undefined && client.clientSecret === postSecret) {
      return registeredMethod(client, "client_secret_post") ? client : invalid("this client is registered for another authentication method");
    }
    return invalid("client authentication failed");
  }
  if (form.client_id !== undefined && policy.clientAuthMethods.includes("none") && client && client.clientSecret === undefined) return client;
  return invalid("client authentication required");
}

/** The lifetime of an access token issued to `client`, and its issue time (see ClientRecord.wholeSecondExpiry). */
function accessTerms(ctx: RequestContext, policy: ProviderPolicy, client: ClientRecord): { issuedAt: number; ttlMs: number } {
  const now = ctx.sim.clock.now();
  return {
    issuedAt: client.wholeSecondExpiry ? Math.floor(now / 1000) * 1000 : now,
    ttlMs: client.accessTokenTtlSec !== undefined ? client.accessTokenTtlSec * 1000 : policy.accessTtlMs,
  };
}

async function tokenSet(ctx: RequestContext, policy: ProviderPolicy, grant: Grant, refresh: RefreshTokenRecord, client: ClientRecord, fromCode = false): Promise<SimResponse> {
  const { issuedAt, ttlMs } = accessTerms(ctx, policy, client);
  const access = ctx.sim.store.issueAccessToken(grant, await policy.newAccessValue(ctx, grant), issuedAt, ttlMs);
  return json(200, await policy.tokenResponse({ ctx, grant, access, refresh, client, fromCode }));
}

/** POST token endpoint: authorization_code and refresh_token grants with the provider's rotation rules. */
export async function handleTokenRequest(ctx: RequestContext, policy: ProviderPolicy): Promise<SimResponse> {
  const { store } = ctx.sim;
  const provider = policy.provider;
  store.count(provider, "tokenEndpointCalls");
  const form = await readForm(ctx.req);
  const grantType = form.grant_type;

  const presented = grantType === "refresh_token" ? store.findRefreshToken(form.refresh_token) : undefined;
  const codeRecord = grantType === "authorization_code" && form.code ? store.codes.get(form.code) : undefined;
  const targetGrant = presented?.grant ?? (codeRecord?.grantId ? store.grants.get(codeRecord.grantId) : undefined);
  const basic = parseBasicAuth(ctx.req);
  const faulted = await ctx.applyFaults({
    grantId: targetGrant?.id,
    // The client's id as registered: RFC 6749 clients (openid-client 6) form-encode it in Basic, "-" included.
    clientId: typeof basic === "object" ? (ctx.sim.clients.get(provider, basic.decoded.clientId) ? basic.decoded.clientId : basic.raw.clientId) : form.client_id,
    refreshToken: grantType === "refresh_token" ? form.refresh_token : undefined,
  });
  const refreshFailed = (response: SimResponse, invalidGrant = false): SimResponse => {
    if (grantType === "refresh_token") store.count(provider, "refreshFailed", presented?.grant.provider === provider ? presented.grant : undefined);
    if (invalidGrant) store.count(provider, "invalidGrant", presented?.grant.provider === provider ? presented.grant : undefined);
    return response;
  };
  if (faulted) return refreshFailed(faulted);

  const client = await authenticateRequestClient(ctx, form, policy, policy.assertionAudiences?.(ctx) ?? []);
  if ("status" in client) return refreshFailed(client);

  if (grantType === undefined || grantType === "") return refreshFailed(oauthError(400, "invalid_request", "grant_type is required"));
  if (grantType === "authorization_code") return exchangeCode(ctx, policy, client, form);
  if (grantType === "client_credentials" && policy.clientCredentials) return issueClientCredentials(ctx, policy, client, form);
  if (grantType !== "refresh_token") return oauthError(400, "unsupported_grant_type", `grant_type "${grantType}" is not supported`);

  const invalidGrant = (description: string) => refreshFailed(oauthError(400, "invalid_grant", description), true);
  if (!form.refresh_token) return refreshFailed(oauthError(400, "invalid_request", "refresh_token is required"));
  if (!presented || presented.grant.provider !== provider) return invalidGrant("refresh token is invalid");
  const { grant, token } = presented;
  const now = ctx.sim.clock.now();
  if (grant.clientId !== client.clientId) return invalidGrant("refresh token was issued to another client");
  if (grant.revokedAt !== undefined) return invalidGrant("refresh token has been revoked");
  if (grant.hardExpiresAt !== undefined && now >= grant.hardExpiresAt) {
    store.revokeGrant(grant, "hard_expiry", now);
    return invalidGrant("the authorization has reached its maximum lifetime; the user must reconnect");
  }
  if (now >= token.expiresAt) return invalidGrant("refresh token has expired");

  if (token.id === grant.currentRefreshTokenId) {
    token.firstUsedAt ??= now;
    if (policy.graceEndsWhenNewTokenUsed) {
      for (const old of grant.refreshTokens) if (old.graceUntil !== undefined && old.graceUntil > now) old.graceUntil = now;
    }
    let current = token;
    if (now - token.issuedAt >= policy.rotateAfterMs) {
      token.supersededAt = now;
      token.graceUntil = now + policy.graceMs;
      const expiresAt = Math.min(now + policy.refreshTtlMs, grant.hardExpiresAt ?? Number.POSITIVE_INFINITY);
      current = store.issueRefreshToken(grant, policy.newRefreshValue(), now, expiresAt);
    }
    store.count(provider, "refreshSuccess", grant);
    return tokenSet(ctx, policy, grant, current, client);
  }

  if (token.graceUntil !== undefined && now < token.graceUntil) {
    // A replaced value inside its grace window gets the grant's current token set, so a client that lost a response can recover.
    const current = store.currentRefreshToken(grant);
    if (!current || now >= current.expiresAt) return invalidGrant("refresh token has expired");
    store.count(provider, "refreshSuccess", grant);
    return tokenSet(ctx, policy, grant, current, client);
  }

  if (isStrict(ctx)) {
    store.revokeGrant(grant, "refresh_token_reuse", now);
    store.count(provider, "reuseDetected", grant);
    return invalidGrant("refresh token reuse detected; the authorization has been revoked");
  }
  return invalidGrant("refresh token has already been used");
}

async function exchangeCode(ctx: RequestContext, policy: ProviderPolicy, client: ClientRecord, form: Record<string, string>): Promise<SimResponse> {
  const { store } = ctx.sim;
  const provider = policy.provider;
  const now = ctx.sim.clock.now();
  const invalidGrant = (description: string) => {
    store.count(provider, "invalidGrant");
    return oauthError(400, "invalid_grant", description);
  };
  if (!form.code) return oauthError(400, "invalid_request", "code is required");
  if (!form.redirect_uri) return oauthError(400, "invalid_request", "redirect_uri is required");
  const code = store.codes.get(form.code);
  if (!code || code.provider !== provider || code.clientId !== client.clientId) return invalidGrant("authorization code is invalid");
  if (code.usedAt !== undefined) {
    // RFC 6749 §4.1.2: a replayed code should revoke everything issued from it.
    const grant = code.grantId ? store.grants.get(code.grantId) : undefined;
    if (grant) store.revokeGrant(grant, "code_reuse", now);
    store.count(provider, "codeReuse", grant);
    return invalidGrant("authorization code has already been used; tokens issued from it are revoked");
  }
  if (now >= code.expiresAt) return invalidGrant("authorization code has expired");
  if (form.redirect_uri !== code.redirectUri) return invalidGrant("redirect_uri does not match the one used to authorize");
  if (code.codeChallenge !== undefined) {
    if (!form.code_verifier) return invalidGrant("code_verifier is required");
    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(form.code_verifier)) return invalidGrant("code_verifier is malformed");
    if (pkceS256(form.code_verifier) !== code.codeChallenge) return invalidGrant("code_verifier does not match the code_challenge");
  } else if (client.clientSecret === undefined) {
    return invalidGrant("public clients must use PKCE");
  }
  code.usedAt = now;
  const grant = store.createGrant(code, now, policy.hardLifetimeMs);
  code.grantId = grant.id;
  const refresh = store.issueRefreshToken(grant, policy.newRefreshValue(), now, Math.min(now + policy.refreshTtlMs, grant.hardExpiresAt ?? Number.POSITIVE_INFINITY));
  return tokenSet(ctx, policy, grant, refresh, client, true);
}

/** Scopes that name a user; a client acting for itself cannot ask for them. */
const USER_SCOPES = new Set(["openid", "offline_access", "profile", "email"]);

/**
 * RFC 6749 §4.4: one access token per request, no refresh token (§4.4.3). Its lifetime is the
 * client's `accessTokenTtlSec` when registered with one, so tests can make expiries come fast;
 * every token issued is counted, per provider and per client, for tests that count mints.
 */
async function issueClientCredentials(ctx: RequestContext, policy: ProviderPolicy, client: ClientRecord, form: Record<string, string>): Promise<SimResponse> {
  if (client.clientSecret === undefined) return oauthError(400, "unauthorized_client", "a public client cannot use the client_credentials grant");
  const scope = (form.scope ?? "").split(" ").filter((s) => s !== "");
  if (scope.some((s) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) return oauthError(400, "invalid_scope", "scope is malformed");
  const userScope = scope.find((s) => USER_SCOPES.has(s));
  if (userScope) return oauthError(400, "invalid_scope", `"${userScope}" needs a user; the client_credentials grant has none`);
  const { store, clock } = ctx.sim;
  const now = clock.now();
  const grant = store.createMachineGrant(policy.provider, client.clientId, scope, now);
  const { issuedAt, ttlMs } = accessTerms(ctx, policy, client);
  const access = store.issueAccessToken(grant, await policy.newAccessValue(ctx, grant), issuedAt, ttlMs);
  store.countClientCredentials(policy.provider, client.clientId);
  return json(200, {
    access_token: access.value,
    token_type: "Bearer",
    expires_in: secondsLeft(access.issuedAt, access.expiresAt),
    ...(scope.length > 0 ? { scope: scope.join(" ") } : {}),
  });
}

export type BearerCheck = { ok: true; grant: Grant; token: AccessTokenRecord } | { ok: false; reason: string };

/** Validates a Bearer access token for a provider's API or userinfo endpoint. */
export function checkBearer(ctx: RequestContext, provider: Provider): BearerCheck {
  const value = bearerToken(ctx.req);
  if (!value) return { ok: false, reason: "missing bearer token" };
  const found = ctx.sim.store.findAccessToken(value);
  if (!found || found.grant.provider !== provider) return { ok: false, reason: "access token is invalid" };
  if (found.grant.revokedAt !== undefined || found.token.revokedAt !== undefined) return { ok: false, reason: "access token has been revoked" };
  if (ctx.sim.clock.now() >= found.token.expiresAt) return { ok: false, reason: "access token has expired" };
  return { ok: true, ...found };
}

/** Finds the grant a token (refresh or access) belongs to, for revocation endpoints. */
export function grantForToken(ctx: RequestContext, provider: Provider, value: string): { grant: Grant; kind: "refresh" | "access"; access?: AccessTokenRecord } | undefined {
  const refresh = ctx.sim.store.findRefreshToken(value);
  if (refresh && refresh.grant.provider === provider) return { grant: refresh.grant, kind: "refresh" };
  const access = ctx.sim.store.findAccessToken(value);
  if (access && access.grant.provider === provider) return { grant: access.grant, kind: "access", access: access.token };
  return undefined;
}

/** Shared bad-input guard for endpoints that take a JSON or form body. */
export function requireString(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") throw new HttpError(400, "invalid_request", `${name} is required`);
  return value;
}
