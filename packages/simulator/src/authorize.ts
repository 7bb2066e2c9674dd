import type { Provider } from "./clients";
import { renderConsentPage, renderErrorPage } from "./consent-page";
import type { RequestContext } from "./context";
import { html, HttpError, mediaType, readBody, redirect, type SimResponse } from "./http";
import { intuitCompanyName, randomToken, realmId, recordId, uuid } from "./ids";
import type { AuthorizationCode, AuthorizationRequest } from "./state";

/** How long the consent page stays valid before it must be reopened. */
const REQUEST_TTL_MS = 15 * 60 * 1000;

export interface AuthorizeConfig {
  provider: Provider;
  providerName: string;
  decisionPath: string;
  pkce: "required" | "optional";
  codeTtlMs: number;
  /** Extra redirect parameters (Intuit sends realmId). */
  redirectExtras(code: AuthorizationCode): Record<string, string>;
}

const XERO_ORG_NAMES = ["Demo Company (NZ)", "Demo Company (UK)", "Demo Company (AU)", "Demo Company (US)", "Demo Company (Global)"];

function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}

/** GET authorize: validates the request, then shows the consent page (or approves at once when auto-approve is on). */
export function handleAuthorize(ctx: RequestContext, config: AuthorizeConfig): SimResponse {
  const q = ctx.url.searchParams;
  const { clients, settings, store, clock } = ctx.sim;
  const errorPage = (error: string, description: string) => html(400, renderErrorPage(config.providerName, error, description));
  for (const name of ["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method", "nonce"]) {
    if (q.getAll(name).length > 1) return errorPage("invalid_request", `parameter "${name}" was given more than once`);
  }
  const clientId = q.get("client_id");
  if (!clientId) return errorPage("invalid_request", "client_id is required");
  const client = clients.get(config.provider, clientId);
  if (!client) return errorPage("invalid_client", `unknown client_id "${clientId}"`);
  const redirectUri = q.get("redirect_uri");
  if (!redirectUri) return errorPage("invalid_request", "redirect_uri is required");
  if (!clients.redirectAllowed(client, redirectUri)) return errorPage("invalid_request", `redirect_uri "${redirectUri}" is not registered for this client`);

  // From here on errors go back to the (now trusted) redirect URI.
  const state = q.get("state") ?? undefined;
  const back = (error: string, description: string) => redirect(withParams(redirectUri, { error, error_description: description, state }));
  const responseType = q.get("response_type");
  if (!responseType) return back("invalid_request", "response_type is required");
  if (responseType !== "code") return back("unsupported_response_type", "only response_type=code is supported");
  const scope = (q.get("scope") ?? "").split(" ").filter(Boolean);
  if (scope.length === 0) return back("invalid_scope", "scope is required");
  const codeChallenge = q.get("code_challenge") ?? undefined;
  const method = q.get("code_challenge_method") ?? undefined;
  if (codeChallenge === undefined && config.pkce === "required") return back("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256");
  if (codeChallenge !== undefined) {
    if (method !== "S256") return back("invalid_request", "code_challenge_method must be S256");
    if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) return back("invalid_request", "code_challenge must be a base64url SHA-256 digest");
  } else if (method !== undefined) {
    return back("invalid_request", "code_challenge_method without code_challenge");
  }

  const now = clock.now();
  const request: AuthorizationRequest = {
    id: recordId("authz"),
    provider: config.provider,
    clientId,
    redirectUri,
    scope,
    state,
    nonce: q.get("nonce") ?? undefined,
    codeChallenge,
    companies:
      config.provider === "intuit"
        ? (settings.intuitRealmIds ?? Array.from({ length: Math.max(1, settings.intuitCompaniesPerAuthorization) }, () => realmId())).map((realm) => ({ realmId: realm, name: intuitCompanyName(realm) }))
        : [],
    tenants:
      config.provider === "xero"
        ? settings.xeroTenants?.map((t) => ({ ...t })) ?? Array.from({ length: Math.max(1, settings.xeroTenantsPerAuthorization) }, (_, i) => ({
            tenantId: uuid(),
            tenantName: XERO_ORG_NAMES[i % XERO_ORG_NAMES.length]! + (i >= XERO_ORG_NAMES.length ? ` ${i + 1}` : ""),
          }))
        : [],
    createdAt: now,
    expiresAt: now + REQUEST_TTL_MS,
    decided: false,
  };
  store.requests.set(request.id, request);
  if (settings.autoApprove[config.provider]) return approve(ctx, config, request, undefined, []);
  return html(200, renderConsentPage({ providerName: config.providerName, clientName: client.name, decisionPath: config.decisionPath, request }));
}

/** Reads the decision from a form POST or a GET query string; tenant may repeat. */
async function decisionParams(ctx: RequestContext): Promise<URLSearchParams> {
  if (ctx.req.method !== "POST") return ctx.url.searchParams;
  const raw = await readBody(ctx.req);
  if (mediaType(ctx.req) !== "application/x-www-form-urlencoded") throw new HttpError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded");
  return new URLSearchParams(raw);
}

/** GET or POST decision: approve issues a code and redirects, deny redirects with access_denied. */
export async function handleDecision(ctx: RequestContext, config: AuthorizeConfig): Promise<SimResponse> {
  const params = await decisionParams(ctx);
  const errorPage = (error: string, description: string) => html(400, renderErrorPage(config.providerName, error, description));
  const requestId = params.get("request_id");
  if (!requestId) return errorPage("invalid_request", "request_id is required");
  const request = ctx.sim.store.requests.get(requestId);
  if (!request || request.provider !== config.provider) return errorPage("invalid_request", "unknown authorization request");
  if (request.decided) return errorPage("invalid_request", "this authorization request was already answered; start again");
  if (ctx.sim.clock.now() >= request.expiresAt) return errorPage("invalid_request", "this authorization request has expired; start again");
  const decision = params.get("decision");
  if (decision === "deny") {
    request.decided = true;
    return redirect(withParams(request.redirectUri, { error: "access_denied", error_description: "The user denied access", state: request.state ?? "" }));
  }
  if (decision !== "approve") return errorPage("invalid_request", 'decision must be "approve" or "deny"');
  const realm = params.get("realmId") ?? undefined;
  if (realm !== undefined && !request.companies.some((c) => c.realmId === realm)) return errorPage("invalid_request", "unknown company");
  const tenants = params.getAll("tenant");
  if (tenants.some((t) => !request.tenants.some((r) => r.tenantId === t))) return errorPage("invalid_request", "unknown organisation");
  return approve(ctx, config, request, realm, tenants);
}

function approve(ctx: RequestContext, config: AuthorizeConfig, request: AuthorizationRequest, realm: string | undefined, tenantIds: string[]): SimResponse {
  const now = ctx.sim.clock.now();
  request.decided = true;
  const code: AuthorizationCode = {
    value: randomToken(24),
    provider: request.provider,
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    // What the user granted: what was asked, less any scope the settings withhold.
    scope: request.scope.filter((s) => !ctx.sim.settings.withheldScopes.includes(s)),
    nonce: request.nonce,
    codeChallenge: request.codeChallenge,
    subject: ctx.sim.users[request.provider].sub,
    realmId: request.companies.length > 0 ? (realm ?? request.companies[0]!.realmId) : undefined,
    // No tenant ticked (or a scripted GET) connects every offered organisation.
    tenants: tenantIds.length > 0 ? request.tenants.filter((t) => tenantIds.includes(t.tenantId)) : request.tenants,
    authTime: now,
    createdAt: now,
    expiresAt: now + config.codeTtlMs,
    usedAt: undefined,
    grantId: undefined,
  };
  ctx.sim.store.codes.set(code.value, code);
  return redirect(withParams(request.redirectUri, { code: code.value, state: request.state, ...config.redirectExtras(code) }));
}
