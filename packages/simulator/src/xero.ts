import { handleAuthorize, handleDecision, type AuthorizeConfig } from "./authorize";
import { DAY, MINUTE } from "./clock";
import type { RequestContext } from "./context";
import { empty, json, oauthError, readForm, type SimResponse } from "./http";
import { randomToken } from "./ids";
import { accessTokenHash } from "./keys";
import { limitedApi, type LimitedCall } from "./limited-api";
import type { Route } from "./router";
import type { Grant } from "./state";
import { authenticateClient, checkBearer, grantForToken, handleTokenRequest, requireString, secondsLeft, type ProviderPolicy } from "./tokens";

/** Xero's issuer is the simulator URL plus /xero; discovery lives under it, as openid-client's Issuer.discover expects. */
export function xeroIssuer(baseUrl: string): string {
  return `${baseUrl}/xero`;
}

/** Xero user ids are GUIDs; the id_token `sub` is the same GUID without dashes. */
const compact = (id: string) => id.replace(/-/g, "");
const epoch = (ms: number) => Math.floor(ms / 1000);

export const xeroPolicy: ProviderPolicy = {
  provider: "xero",
  accessTtlMs: 30 * MINUTE,
  codeTtlMs: 5 * MINUTE,
  clientAuthMethods: ["client_secret_basic", "client_secret_post", "none"],
  requirePkce: false,
  // "Expires after 60 days unused": every refresh hands out a fresh 60-day value.
  refreshTtlMs: 60 * DAY,
  hardLifetimeMs: undefined,
  rotateAfterMs: 0,
  graceMs: 30 * MINUTE,
  graceEndsWhenNewTokenUsed: false,
  newRefreshValue: () => randomToken(32),
  // Real Xero access tokens are JWTs carrying the authentication event, which clients match against /connections.
  newAccessValue: (ctx, grant) => {
    const now = epoch(ctx.sim.clock.now());
    const user = ctx.sim.users.xero;
    return ctx.sim.keys.sign({
      iss: xeroIssuer(ctx.sim.baseUrl),
      nbf: now,
      exp: now + 30 * 60,
      client_id: grant.clientId,
      sub: compact(user.sub),
      auth_time: epoch(grant.authTime),
      xero_userid: user.sub,
      global_session_id: compact(grant.authEventId),
      authentication_event_id: grant.authEventId,
      jti: randomToken(16),
      scope: grant.scope,
    });
  },
  async tokenResponse({ ctx, grant, access, refresh, client, fromCode }) {
    const idToken = grant.scope.includes("openid") ? await signIdToken(ctx, grant, client.clientId, access.value, fromCode) : undefined;
    return {
      ...(idToken ? { id_token: idToken } : {}),
      access_token: access.value,
      expires_in: secondsLeft(access.issuedAt, access.expiresAt),
      token_type: "Bearer",
      refresh_token: refresh.value,
      scope: grant.scope.join(" "),
    };
  },
};

async function signIdToken(ctx: RequestContext, grant: Grant, clientId: string, accessToken: string, fromCode: boolean): Promise<string> {
  const now = epoch(ctx.sim.clock.now());
  const user = ctx.sim.users.xero;
  return ctx.sim.keys.sign({
    iss: xeroIssuer(ctx.sim.baseUrl),
    aud: clientId,
    sub: compact(user.sub),
    iat: now,
    exp: now + 5 * 60,
    auth_time: epoch(grant.authTime),
    at_hash: accessTokenHash(accessToken),
    xero_userid: user.sub,
    global_session_id: compact(grant.authEventId),
    sid: compact(grant.authEventId),
    preferred_username: user.email,
    email: user.email,
    given_name: user.givenName,
    family_name: user.familyName,
    ...(fromCode && grant.nonce ? { nonce: grant.nonce } : {}),
  });
}

const authorizeConfig: AuthorizeConfig = {
  provider: "xero",
  providerName: "Xero",
  decisionPath: "/xero/identity/connect/authorize/decision",
  pkce: "optional",
  codeTtlMs: xeroPolicy.codeTtlMs,
  redirectExtras: () => ({}),
};

/** Xero API errors are RFC 7807-style problem documents. */
function problem(status: 401 | 403 | 404, detail: string): SimResponse {
  const title = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" }[status];
  const headers: Record<string, string> = status === 401 ? { "www-authenticate": `Bearer error="invalid_token", error_description="${detail}"` } : {};
  return json(status, { Type: null, Title: title, Status: status, Detail: detail, Instance: randomToken(8), Extensions: {} }, headers);
}

function discovery(ctx: RequestContext): SimResponse {
  const issuer = xeroIssuer(ctx.sim.baseUrl);
  return json(200, {
    issuer,
    authorization_endpoint: `${issuer}/identity/connect/authorize`,
    token_endpoint: `${issuer}/identity/connect/token`,
    userinfo_endpoint: `${issuer}/identity/connect/userinfo`,
    revocation_endpoint: `${issuer}/identity/connect/revocation`,
    jwks_uri: `${issuer}/.well-known/openid-configuration/jwks`,
    scopes_supported: ["openid", "profile", "email", "offline_access", "accounting.transactions", "accounting.settings", "accounting.contacts"],
    claims_supported: ["sub", "xero_userid", "global_session_id", "email", "given_name", "family_name", "preferred_username"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
    revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    code_challenge_methods_supported: ["S256"],
  });
}

async function revocation(ctx: RequestContext): Promise<SimResponse> {
  const form = await readForm(ctx.req);
  const client = authenticateClient(ctx, form, xeroPolicy);
  if ("status" in client) return client;
  const token = requireString(form.token, "token");
  const found = grantForToken(ctx, "xero", token);
  if (found && found.grant.clientId !== client.clientId) return oauthError(400, "invalid_request", "token was issued to another client");
  // Revoking removes the authorization and with it every connected organisation.
  if (found) ctx.sim.store.revokeGrant(found.grant, "client_revocation", ctx.sim.clock.now());
  return empty(200);
}

function connections(ctx: RequestContext): SimResponse {
  const check = checkBearer(ctx, "xero");
  if (!check.ok) return problem(401, check.reason);
  return json(
    200,
    check.grant.tenants.map((t) => ({
      id: t.connectionId,
      authEventId: check.grant.authEventId,
      tenantId: t.tenantId,
      tenantType: "ORGANISATION",
      tenantName: t.tenantName,
      createdDateUtc: new Date(t.createdAt).toISOString(),
      updatedDateUtc: new Date(t.updatedAt).toISOString(),
    })),
  );
}

function deleteConnection(ctx: RequestContext): SimResponse {
  const check = checkBearer(ctx, "xero");
  if (!check.ok) return problem(401, check.reason);
  const index = check.grant.tenants.findIndex((t) => t.connectionId === ctx.params.id);
  if (index < 0) return problem(404, "connection not found");
  check.grant.tenants.splice(index, 1);
  return empty(204);
}

function organisation(ctx: RequestContext): SimResponse {
  const check = checkBearer(ctx, "xero");
  if (!check.ok) return problem(401, check.reason);
  const tenantId = ctx.req.headers["xero-tenant-id"];
  if (typeof tenantId !== "string" || tenantId === "") return problem(403, "AuthenticationUnsuccessful: missing xero-tenant-id header");
  const tenant = check.grant.tenants.find((t) => t.tenantId === tenantId);
  if (!tenant) return problem(403, "AuthenticationUnsuccessful: the organisation is not connected to this authorization");
  return json(200, {
    Id: randomToken(8),
    Status: "OK",
    ProviderName: "Tokenvault simulator",
    DateTimeUTC: `/Date(${ctx.sim.clock.now()})/`,
    Organisations: [
      {
        OrganisationID: tenant.tenantId,
        Name: tenant.tenantName,
        LegalName: tenant.tenantName,
        OrganisationType: "COMPANY",
        BaseCurrency: "NZD",
        CountryCode: "NZ",
        IsDemoCompany: true,
        OrganisationStatus: "ACTIVE",
      },
    ],
  });
}

/** Calls naming a connected organisation spend its budget; /connections is not tenant-scoped and is not limited. */
function tenantCall(ctx: RequestContext): LimitedCall | undefined {
  const check = checkBearer(ctx, "xero");
  const tenantId = ctx.req.headers["xero-tenant-id"];
  if (!check.ok || typeof tenantId !== "string" || !check.grant.tenants.some((t) => t.tenantId === tenantId)) return undefined;
  return { provider: "xero", clientId: check.grant.clientId, tenantId };
}

function userInfo(ctx: RequestContext): SimResponse {
  const check = checkBearer(ctx, "xero");
  if (!check.ok) return oauthError(401, "invalid_token", check.reason, { "www-authenticate": `Bearer error="invalid_token", error_description="${check.reason}"` });
  const user = ctx.sim.users.xero;
  return json(200, { sub: compact(user.sub), xero_userid: user.sub, email: user.email, given_name: user.givenName, family_name: user.familyName, preferred_username: user.email });
}

export const xeroRoutes: Route[] = [
  { methods: ["GET"], path: "/xero/.well-known/openid-configuration", provider: "xero", endpoint: "discovery", handle: discovery },
  { methods: ["GET"], path: "/xero/.well-known/openid-configuration/jwks", provider: "xero", endpoint: "jwks", handle: (ctx) => json(200, ctx.sim.keys.jwks()) },
  { methods: ["GET"], path: "/xero/identity/connect/authorize", provider: "xero", endpoint: "authorize", handle: (ctx) => handleAuthorize(ctx, authorizeConfig) },
  { methods: ["GET", "POST"], path: "/xero/identity/connect/authorize/decision", provider: "xero", endpoint: "authorize", handle: (ctx) => handleDecision(ctx, authorizeConfig) },
  { methods: ["POST"], path: "/xero/identity/connect/token", provider: "xero", endpoint: "token", manualFaults: true, handle: (ctx) => handleTokenRequest(ctx, xeroPolicy) },
  { methods: ["POST"], path: "/xero/identity/connect/revocation", provider: "xero", endpoint: "revoke", handle: revocation },
  { methods: ["GET"], path: "/xero/identity/connect/userinfo", provider: "xero", endpoint: "userinfo", handle: userInfo },
  { methods: ["GET"], path: "/xero/api/connections", provider: "xero", endpoint: "api", handle: connections },
  { methods: ["DELETE"], path: "/xero/api/connections/:id", provider: "xero", endpoint: "api", handle: deleteConnection },
  { methods: ["GET"], path: "/xero/api/api.xro/2.0/Organisation", provider: "xero", endpoint: "api", manualFaults: true, handle: limitedApi(tenantCall, organisation) },
];
