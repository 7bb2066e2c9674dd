import { XeroClient } from "xero-node";
import { parseRetryAfter, ProviderCallError, providerFetch } from "../oauth/token-client";
import type { ProviderTenant } from "../types";
import type { ProviderAdapter, ProviderEndpoints } from "./types";
import { isName } from "../validation";
import { fromDefinition, XERO } from "./definitions";

export const XERO_ENDPOINTS: ProviderEndpoints = XERO.endpoints;

/**
 * Xero's GET /connections reply, checked: tenant ids become the external ids tokens are bound
 * to, so they follow the same rules as every other id. Null when the reply is not that shape.
 */
function parseConnections(body: unknown): XeroConnection[] | null {
  if (!Array.isArray(body)) return null;
  const connections: XeroConnection[] = [];
  for (const item of body as unknown[]) {
    if (typeof item !== "object" || item === null) return null;
    const { id, tenantId, tenantName, updatedDateUtc } = item as Record<string, unknown>;
    if (!isName(tenantId)) return null;
    connections.push({
      id: isName(id) ? id : undefined,
      tenantId,
      tenantName: typeof tenantName === "string" ? tenantName.slice(0, 200).toWellFormed() : undefined,
      updatedDateUtc: typeof updatedDateUtc === "string" ? updatedDateUtc : undefined,
    });
  }
  return connections;
}

/** GET /connections with an access token, checked. */
async function listConnections(api: string, accessToken: string, timeoutMs: number): Promise<XeroConnection[]> {
  const response = await providerFetch(`${api}/connections`, { headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" } }, timeoutMs);
  if (!response.ok) {
    await response.body?.cancel();
    // A 429 is transient (retried, its Retry-After honoured), not a refusal of the tokens.
    const kind = response.status === 429 ? "rate_limited" : response.status >= 500 ? "server_error" : "rejected";
    throw new ProviderCallError(kind, response.status, null, parseRetryAfter(response.headers.get("retry-after"), Date.now()));
  }
  const connections = parseConnections(await response.json().catch(() => null));
  if (!connections) throw new ProviderCallError("server_error", response.status, null, null);
  return connections;
}

interface XeroConnection {
  /** The connection's own id, for DELETE /connections/{id}. */
  id?: string;
  tenantId: string;
  tenantName?: string;
  updatedDateUtc?: string;
}

/**
 * Xero (its lifetimes and limits: definitions.ts). One
 * authorization can cover several tenants (GET /connections) and revoking it removes them all,
 * so the token set belongs to the authorization (the connection row), not to a tenant.
 */
export function xeroAdapter(config: { clientId: string; clientSecret: string; endpoints: ProviderEndpoints }): ProviderAdapter {
  const api = config.endpoints.api;
  return {
    ...fromDefinition(XERO),
    endpoints: config.endpoints,
    client: { clientId: config.clientId, clientSecret: config.clientSecret, auth: "client_secret_basic" },
    externalIdParam: null,
    discoverTenants: async (accessToken, timeoutMs): Promise<ProviderTenant[]> => {
      const connections = await listConnections(api, accessToken, timeoutMs);
      // Most recently authorized first, as xero-node orders them.
      return connections
        .sort((a, b) => Date.parse(b.updatedDateUtc ?? "") - Date.parse(a.updatedDateUtc ?? ""))
        .map((c) => ({ id: c.tenantId, name: c.tenantName ?? c.tenantId }));
    },
    disconnectTenants: async (accessToken, tenantIds, timeoutMs): Promise<void> => {
      const connections = await listConnections(api, accessToken, timeoutMs);
      for (const connection of connections) {
        if (!tenantIds.includes(connection.tenantId) || !connection.id) continue;
        const response = await providerFetch(`${api}/connections/${encodeURIComponent(connection.id)}`, { method: "DELETE", headers: { authorization: `Bearer ${accessToken}` } }, timeoutMs);
        await response.body?.cancel();
        // 404: already gone, which is what was asked.
        if (!response.ok && response.status !== 404) throw new ProviderCallError(response.status >= 500 ? "server_error" : "rejected", response.status, null, null);
      }
    },
    checkRequest: (tokens) => ({
      url: `${api}/connections`,
      headers: { authorization: `Bearer ${tokens.accessToken}`, accept: "application/json" },
    }),
    createSdkClient: (tokens, redirectUri) => {
      // No initialize(): it would discover identity.xero.com and set process-wide openid-client
      // defaults. Token calls stay with the service (it owns refresh); the client gets the token
      // set and this deployment's API base.
      const client = new XeroClient({
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        redirectUris: [redirectUri],
        scopes: [...XERO.scopes],
      });
      client.setTokenSet({
        access_token: tokens.accessToken,
        refresh_token: tokens.refreshToken ?? undefined,
        token_type: "Bearer",
        expires_at: Math.floor(tokens.accessTokenExpiresAt.getTime() / 1000),
      });
      client.accountingApi.basePath = `${api}/api.xro/2.0`;
      return Promise.resolve(client);
    },
  };
}
