import { handleAuthorize, handleDecision, type AuthorizeConfig } from "./authorize";
import { DAY, HOUR, MINUTE } from "./clock";
import type { RequestContext } from "./context";
import { empty, json, mediaType, oauthError, parseForm, parseJsonObject, readBody, type SimResponse } from "./http";
import { intuitCompanyName, randomToken } from "./ids";
import { limitedApi, type LimitedCall } from "./limited-api";
import type { Route } from "./router";
import { authenticateClient, checkBearer, grantForToken, handleTokenRequest, requireString, secondsLeft, type ProviderPolicy } from "./tokens";

/** Intuit's id_token issuer is fixed: intuit-oauth's validateIdToken() compares against this exact string. */
export const INTUIT_ID_TOKEN_ISSUER = "https://oauth.platform.intuit.com/op/v1";

export const intuitPolicy: ProviderPolicy = {
  provider: "intuit",
  accessTtlMs: HOUR,
  codeTtlMs: 10 * MINUTE,
  clientAuthMethods: ["client_secret_basic"],
  requirePkce: false,
  refreshTtlMs: 100 * DAY,
  hardLifetimeMs: 5 * 365 * DAY,
  // The value only changes once it is a day old; younger values come back unchanged.
  rotateAfterMs: 24 * HOUR,
  graceMs: 24 * HOUR,
  graceEndsWhenNewTokenUsed: true,
  // Real Intuit refresh tokens are 50 characters starting with AB11.
  newRefreshValue: () => `AB11${randomToken(35).slice(0, 46)}`,
  newAccessValue: () => randomToken(48),
  async tokenResponse({ ctx, grant, access, refresh, client, fromCode }) {
    const body: Record<string, unknown> = {
      token_type: "bearer",
      access_token: access.value,
      expires_in: secondsLeft(access.issuedAt, access.expiresAt),
      refresh_token: refresh.value,
      x_refresh_token_expires_in: secondsLeft(access.issuedAt, refresh.expiresAt),
    };
    // intuit-oauth opts in to the absolute lifetime with this header.
    if (ctx.req.headers["x-include-refresh-token-hard-expires-in"] === "true" && grant.hardExpiresAt !== undefined) {
      body.x_refresh_token_hard_expires_in = secondsLeft(access.issuedAt, grant.hardExpiresAt);
    }
    if (grant.scope.includes("openid")) {
      const now = Math.floor(ctx.sim.clock.now() / 1000);
      const user = ctx.sim.users.intuit;
      body.id_token = await ctx.sim.keys.sign({
        iss: INTUIT_ID_TOKEN_ISSUER,
        // intuit-oauth calls aud.find(...): it must be an array.
        aud: [client.clientId],
        sub: user.sub,
        realmid: grant.realmId,
        auth_time: Math.floor(grant.authTime / 1000),
        iat: now,
        exp: now + 3600,
        ...(fromCode && grant.nonce ? { nonce: grant.nonce } : {}),
      });
    }
    return body;
  },
};

const authorizeConfig: AuthorizeConfig = {
  provider: "intuit",
  providerName: "Intuit QuickBooks",
  decisionPath: "/intuit/connect/oauth2/decision",
  pkce: "optional",
  codeTtlMs: intuitPolicy.codeTtlMs,
  redirectExtras: (code): Record<string, string> => (code.realmId ? { realmId: code.realmId } : {}),
};

/** QuickBooks API errors are "Fault" documents, not OAuth errors. */
function fault(status: number, type: string, code: string, message: string, detail: string, ctx: RequestContext): SimResponse {
  const headers: Record<string, string> = status === 401 ? { "www-authenticate": `Bearer realm="Intuit", error="invalid_token"` } : {};
  return json(status, { fault: { error: [{ message, detail, code }], type }, time: new Date(ctx.sim.clock.now()).toISOString() }, headers);
}

async function revoke(ctx: RequestContext): Promise<SimResponse> {
  const raw = await readBody(ctx.req);
  const client = authenticateClient(ctx, {}, intuitPolicy);
  if ("status" in client) return client;
  // intuit-oauth sends JSON; accept a form body too.
  const body = mediaType(ctx.req) === "application/x-www-form-urlencoded" ? parseForm(raw) : parseJsonObject(raw);
  const token = requireString(body.token, "token");
  const found = grantForToken(ctx, "intuit", token);
  if (found && found.grant.clientId !== client.clientId) return oauthError(400, "invalid_request", "token was issued to another client");
  // Revoking either token ends the whole authorization; unknown tokens are not an error (RFC 7009 §2.2).
  if (found) ctx.sim.store.revokeGrant(found.grant, "client_revocation", ctx.sim.clock.now());
  return empty(200);
}

function companyInfo(ctx: RequestContext): SimResponse {
  const check = checkBearer(ctx, "intuit");
  if (!check.ok) return fault(401, "AUTHENTICATION", "3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", `Token invalid: ${check.reason}`, ctx);
  const realmId = ctx.params.realmId!;
  const id = ctx.params.id!;
  if (check.grant.realmId !== realmId) {
    return fault(403, "AUTHORIZATION", "003100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403", "the token is not authorized for this company", ctx);
  }
  if (id !== realmId) return fault(400, "ValidationFault", "610", "Object Not Found", `CompanyInfo ${id} not found`, ctx);
  const created = new Date(check.grant.createdAt).toISOString();
  return json(200, {
    CompanyInfo: {
      CompanyName: intuitCompanyName(realmId),
      LegalName: intuitCompanyName(realmId),
      Country: "US",
      Email: { Address: ctx.sim.users.intuit.email },
      domain: "QBO",
      sparse: false,
      Id: realmId,
      SyncToken: "0",
      MetaData: { CreateTime: created, LastUpdatedTime: created },
    },
    time: new Date(ctx.sim.clock.now()).toISOString(),
  });
}

/**
 * QuickBooks' requestid (developer.intuit.com, "Idempotency"): a create repeated with the same
 * requestid is answered with the first answer, not done twice. Kept per simulator.
 */
const createdByRequestId = new WeakMap<object, Map<string, SimResponse>>();

/** POST /v3/company/{realmId}/invoice: creates an invoice from the JSON body (no validation beyond the token and realm). */
async function createInvoice(ctx: RequestContext): Promise<SimResponse> {
  const raw = await readBody(ctx.req);
  const check = checkBearer(ctx, "intuit");
  if (!check.ok) return fault(401, "AUTHENTICATION", "3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", `Token invalid: ${check.reason}`, ctx);
  if (check.grant.realmId !== ctx.params.realmId) {
    return fault(403, "AUTHORIZATION", "003100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403", "the token is not authorized for this company", ctx);
  }
  const requestId = ctx.url.searchParams.get("requestid");
  let seen = createdByRequestId.get(ctx.sim);
  if (!seen) createdByRequestId.set(ctx.sim, (seen = new Map<string, SimResponse>()));
  const earlier = requestId ? seen.get(`${ctx.params.realmId}:${requestId}`) : undefined;
  if (earlier) return earlier;
  const now = new Date(ctx.sim.clock.now()).toISOString();
  const response = json(200, { Invoice: { ...parseJsonObject(raw), Id: randomToken(6), SyncToken: "0", MetaData: { CreateTime: now, LastUpdatedTime: now } }, time: now });
  if (requestId) seen.set(`${ctx.params.realmId}:${requestId}`, response);
  return response;
}

/** Calls to a company the token may use spend that realm's budget (Intuit limits per app and realm). */
function realmCall(ctx: RequestContext): LimitedCall | undefined {
  const check = checkBearer(ctx, "intuit");
  if (!check.ok || check.grant.realmId !== ctx.params.realmId) return undefined;
  return { provider: "intuit", clientId: check.grant.clientId, tenantId: check.grant.realmId! };
}

function userInfo(ctx: RequestContext): SimResponse {
  const check = checkBearer(ctx, "intuit");
  if (!check.ok) return oauthError(401, "invalid_token", check.reason, { "www-authenticate": `Bearer error="invalid_token", error_description="${check.reason}"` });
  if (!check.grant.scope.includes("openid")) return oauthError(403, "insufficient_scope", "the openid scope is required");
  const user = ctx.sim.users.intuit;
  return json(200, { sub: user.sub, email: user.email, emailVerified: true, givenName: user.givenName, familyName: user.familyName });
}

function discovery(ctx: RequestContext): SimResponse {
  const base = `${ctx.sim.baseUrl}/intuit`;
  return json(200, {
    issuer: INTUIT_ID_TOKEN_ISSUER,
    authorization_endpoint: `${base}/connect/oauth2`,
    token_endpoint: `${base}/oauth2/v1/tokens/bearer`,
    userinfo_endpoint: `${base}/v1/openid_connect/userinfo`,
    revocation_endpoint: `${base}/oauth2/v1/tokens/revoke`,
    jwks_uri: `${base}/op/v1/jwks`,
    response_types_supported: ["code"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: ["openid", "email", "profile", "address", "phone", "com.intuit.quickbooks.accounting", "com.intuit.quickbooks.payment"],
    token_endpoint_auth_methods_supported: ["client_secret_basic"],
    grant_types_supported: ["authorization_code", "refresh_token"],
  });
}

export const intuitRoutes: Route[] = [
  { methods: ["GET"], path: "/intuit/.well-known/openid-configuration", provider: "intuit", endpoint: "discovery", handle: discovery },
  { methods: ["GET"], path: "/intuit/op/v1/jwks", provider: "intuit", endpoint: "jwks", handle: (ctx) => json(200, ctx.sim.keys.jwks()) },
  { methods: ["GET"], path: "/intuit/connect/oauth2", provider: "intuit", endpoint: "authorize", handle: (ctx) => handleAuthorize(ctx, authorizeConfig) },
  { methods: ["GET", "POST"], path: "/intuit/connect/oauth2/decision", provider: "intuit", endpoint: "authorize", handle: (ctx) => handleDecision(ctx, authorizeConfig) },
  { methods: ["POST"], path: "/intuit/oauth2/v1/tokens/bearer", provider: "intuit", endpoint: "token", manualFaults: true, handle: (ctx) => handleTokenRequest(ctx, intuitPolicy) },
  { methods: ["POST"], path: "/intuit/oauth2/v1/tokens/revoke", provider: "intuit", endpoint: "revoke", handle: revoke },
  { methods: ["GET"], path: "/intuit/v3/company/:realmId/companyinfo/:id", provider: "intuit", endpoint: "api", manualFaults: true, handle: limitedApi(realmCall, companyInfo) },
  { methods: ["POST"], path: "/intuit/v3/company/:realmId/invoice", provider: "intuit", endpoint: "api", manualFaults: true, handle: limitedApi(realmCall, createInvoice) },
  { methods: ["GET"], path: "/intuit/v1/openid_connect/userinfo", provider: "intuit", endpoint: "userinfo", handle: userInfo },
];
