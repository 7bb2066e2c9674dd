import { TRPCError } from "@trpc/server";
import type { ApiKeyPrincipal, ApiKeyScope, TokenService } from "@tokenvault/token";
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from "~/settings";
import { RetryAfterCause } from "../../limits/request-limits";
import { refuseDeclaredOversize } from "../body-limit";
import { clientAddress } from "../client-address";
import { errorDetails, errorResponse, toTRPCError } from "../errors";
import type { ContextDeps } from "../trpc";

export type ApiV1Deps = Pick<ContextDeps, "services" | "trustedProxies" | "maxRequestBodyBytes">;

/** What a /api/v1 handler gets: the key's principal and the service, and where to note what the call touched (for its audit row). */
export interface ApiV1Context {
  principal: ApiKeyPrincipal;
  tokenService: TokenService;
  client: { ipAddress: string | null; userAgent: string | null };
  maxRequestBodyBytes: number;
  note: (touched: { connectionId?: string; provider?: string; path?: string }) => void;
}

const BEARER = /^Bearer ([^\s]+)$/;

/** The key an Authorization header presents; the key never goes into an error, a log or a row. */
function presentedKey(request: Request): string {
  const key = BEARER.exec(request.headers.get("authorization") ?? "")?.[1];
  if (!key) throw new TRPCError({ code: "UNAUTHORIZED", message: "Send an API key: Authorization: Bearer tvk_..." });
  return key;
}

/**
 * Runs one /api/v1 call: the key checked (401 when missing, unknown or revoked; 403 without
 * `scope`), one point of the key's limit taken (429 with Retry-After), then `handle`. Errors
 * answer through errorResponse, the one mapping the dashboard's API uses too. Every call with a
 * valid key is audited (API_CALL, the key's id), whatever its outcome. Session cookies are never
 * read: a browser's session cannot act here.
 */
export async function apiV1Route(deps: ApiV1Deps, request: Request, spec: { scope: ApiKeyScope; endpoint: string; readsBody?: boolean }, handle: (ctx: ApiV1Context) => Promise<Response>): Promise<Response> {
  const started = performance.now();
  const client = { ipAddress: clientAddress(request.headers, deps.trustedProxies ?? { kind: "none" }), userAgent: request.headers.get("user-agent") };
  const touched: { connectionId?: string; provider?: string; path?: string } = {};
  let principal: ApiKeyPrincipal | null = null;
  let tokenService: TokenService | null = null;
  let response: Response;
  let errorCode: string | undefined;
  try {
    const maxRequestBodyBytes = deps.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    if (!spec.readsBody) refuseDeclaredOversize(request, maxRequestBodyBytes);
    const key = presentedKey(request);
    const services = await deps.services();
    tokenService = services.tokenService;
    principal = await tokenService.apiKeys.authenticate(key);
    if (!principal) throw new TRPCError({ code: "UNAUTHORIZED", message: "The API key is unknown or was revoked." });
    if (!principal.scopes.includes(spec.scope)) throw new TRPCError({ code: "FORBIDDEN", message: `This API key does not have the ${spec.scope} scope.` });
    await services.limits?.take("apiCall", { companyId: principal.companyId, userId: principal.userId });
    response = await handle({ principal, tokenService, client, maxRequestBodyBytes, note: (t) => Object.assign(touched, t) });
  } catch (error) {
    const mapped = toTRPCError(error);
    errorCode = errorDetails(mapped).tokenErrorCode ?? mapped.code;
    response = errorResponse(mapped);
    const wait = retryAfterOf(mapped, error);
    if (wait !== null) response.headers.set("retry-after", String(wait));
    if (mapped.code === "UNAUTHORIZED") response.headers.set("www-authenticate", 'Bearer realm="tokenvault"');
    // Through the proxy, tells Tokenvault's refusals from the provider's own answers.
    response.headers.set("tokenvault-source", "tokenvault");
  }
  if (principal && tokenService) {
    tokenService.apiKeys.recordCall(
      principal,
      { endpoint: spec.endpoint, method: request.method, status: response.status, ...touched, errorCode, responseTimeMs: Math.round(performance.now() - started) },
      client,
    );
  }
  response.headers.set("cache-control", "no-store");
  return response;
}

/** Seconds to wait before retrying: the key's own limit, or a provider's (a RATE_LIMITED error that says when). */
function retryAfterOf(mapped: TRPCError, original: unknown): number | null {
  if (mapped.cause instanceof RetryAfterCause) return mapped.cause.retryAfterSec;
  const retryAt = (original as { retryAt?: unknown } | null)?.retryAt;
  if (retryAt instanceof Date) return Math.max(1, Math.ceil((retryAt.getTime() - Date.now()) / 1000));
  return null;
}

/** A JSON answer whose body is checked against its schema first: what is documented is what is sent. */
export function jsonAnswer<T>(schema: { parse(value: unknown): T }, value: unknown, status = 200): Response {
  return Response.json(schema.parse(value), { status });
}
