import { apiV1Route, jsonAnswer } from "~/server/api/v1/api-route";
import { connectionFilterOf, connectionList } from "~/server/api/v1/schemas";
import { defaultContextDeps } from "~/server/api/services";

/** GET /api/v1/connections (scope connections:read): the key's company's connections, no secret; `?tag=` and `?metadata[key]=value` filter them. */
export function GET(request: Request) {
  return apiV1Route(defaultContextDeps, request, { scope: "connections:read", endpoint: "/api/v1/connections" }, async ({ principal, tokenService }) => {
    const connections = await tokenService.companyConnections.list(principal.companyId, connectionFilterOf(new URL(request.url)));
    return jsonAnswer(connectionList, {
      connections: connections.map((c) => ({ ...c, accessTokenExpiresAt: c.accessTokenExpiresAt?.toISOString() ?? null, connectedAt: c.connectedAt.toISOString() })),
    });
  });
}
