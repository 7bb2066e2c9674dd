import { ProviderCallError } from "@tokenvault/token";
import { apiV1Route } from "~/server/api/v1/api-route";
import { answeredHeaders, boundedBody, forwardedHeaders, idempotencyKeyOf, proxyPath, sniffedContentType } from "~/server/api/v1/proxy-request";
import { defaultContextDeps } from "~/server/api/services";

type Params = { params: Promise<{ id: string; path: string[] }> };

/**
 * ANY /api/v1/connections/{id}/proxy/{path} (scope proxy): the call goes to the connection's
 * provider through tokenService.fetch (its token injected, a 401 refreshed once, the provider's
 * limits shared by every process), below the connection's API base only. The provider's status,
 * headers (less hop-by-hop and cookies) and body come back, marked `tokenvault-source: provider`;
 * Tokenvault's own refusals answer `{ error: { code, message } }`.
 */
function proxy(request: Request, { params }: Params): Promise<Response> {
  return apiV1Route(defaultContextDeps, request, { scope: "proxy", endpoint: "/api/v1/connections/{id}/proxy/{path}", readsBody: true }, async ({ principal, tokenService, note, maxRequestBodyBytes }) => {
    const { id } = await params;
    const connection = await tokenService.companyConnections.require(principal.companyId, id);
    note({ connectionId: connection.id, provider: connection.provider });
    const path = proxyPath(request.url, id);
    note({ path: path.split("?")[0]!.slice(0, 200) });
    const idempotencyKey = idempotencyKeyOf(request.headers);
    const body = await boundedBody(request, maxRequestBodyBytes);
    try {
      const answer = await tokenService.fetch({ connectionId: connection.id }, path, {
        method: request.method,
        headers: forwardedHeaders(request.headers),
        body,
        userId: principal.userId,
        idempotencyKey,
        signal: request.signal,
      });
      return new Response(answer.body, { status: answer.status, headers: answeredHeaders(answer.headers) });
    } catch (error) {
      // The provider's own refusal (a 400, 404, 422...): its status and body, as the client would have had them.
      if (error instanceof ProviderCallError && error.code === "PROVIDER_ERROR" && error.answer) {
        return new Response(error.answer.body, { status: error.answer.status, headers: { "content-type": sniffedContentType(error.answer.body), "tokenvault-source": "provider" } });
      }
      throw error;
    }
  });
}

export { proxy as GET, proxy as POST, proxy as PUT, proxy as PATCH, proxy as DELETE };
