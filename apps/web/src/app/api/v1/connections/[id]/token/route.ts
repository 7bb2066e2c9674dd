import { apiV1Route, jsonAnswer } from "~/server/api/v1/api-route";
import { connectionToken } from "~/server/api/v1/schemas";
import { defaultContextDeps } from "~/server/api/services";

/**
 * GET /api/v1/connections/{id}/token (scope tokens:read): the connection's access token, valid
 * now, through the token service (refreshed first when due; the read is audited as the key).
 * Another company's connection id answers 404, as an unknown one does.
 */
export function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return apiV1Route(defaultContextDeps, request, { scope: "tokens:read", endpoint: "/api/v1/connections/{id}/token" }, async ({ principal, tokenService, client, note }) => {
    const { id } = await params;
    const token = await tokenService.companyConnections.token(principal.companyId, id, principal.userId, client);
    note({ connectionId: token.connectionId, provider: token.provider });
    return jsonAnswer(connectionToken, {
      connectionId: token.connectionId,
      provider: token.provider,
      accessToken: token.accessToken,
      tokenType: token.tokenType,
      expiresAt: token.expiresAt.toISOString(),
      externalId: token.externalId,
      tenants: token.tenants,
    });
  });
}
