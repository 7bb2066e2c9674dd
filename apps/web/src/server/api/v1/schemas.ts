// The shapes /api/v1 answers with, declared once: the route handlers build their answers through
// them and the OpenAPI document (openapi.ts) is generated from them. Dates travel as ISO 8601.
import { z } from "zod";
import { API_KEY_SCOPES } from "@tokenvault/token";

/** The schemas that become components of the OpenAPI document, by name. */
export const apiV1Registry = z.registry<{ id: string; description?: string }>();

const component = <S extends z.ZodType>(schema: S, id: string, description: string): S => {
  apiV1Registry.add(schema, { id, description });
  return schema;
};

export const apiScope = component(z.enum(API_KEY_SCOPES), "Scope", "What an API key may do: list connections, read tokens, call providers through the proxy.");

export const apiError = component(
  z.object({
    error: z.object({
      code: z.string().describe("UNAUTHORIZED, FORBIDDEN, NOT_FOUND, BAD_REQUEST, CONFLICT, PAYLOAD_TOO_LARGE, TOO_MANY_REQUESTS, PRECONDITION_FAILED, BAD_GATEWAY, SERVICE_UNAVAILABLE, INTERNAL_SERVER_ERROR"),
      message: z.string().describe("Written for people; never carries a token."),
      tokenErrorCode: z.string().optional().describe("The token service's code (REAUTH_REQUIRED, CONNECTION_DISABLED, RATE_LIMITED, PROVIDER_UNAVAILABLE, ...) when it caused the error."),
      fieldErrors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  }),
  "Error",
  "Every error of /api/v1 (and of the proxy, when the error is Tokenvault's rather than the provider's).",
);

const tenant = component(z.object({ id: z.string(), name: z.string() }), "Tenant", "A Xero organisation the connection's grant covers.");

export const apiConnection = component(
  z.object({
    id: z.uuid(),
    provider: z.string().describe('"quickbooks", "xero" or a configured OpenID Connect provider'),
    displayName: z.string(),
    externalId: z.string().nullable().describe("QuickBooks realmId, Xero tenantId; null when the provider has none."),
    tenants: z.array(tenant),
    status: z.enum(["VALID", "EXPIRED", "NO_TOKEN", "ERROR"]),
    accessTokenExpiresAt: z.iso.datetime().nullable(),
    connectedAt: z.iso.datetime(),
    tags: z.array(z.string()).describe("An admin's labels: lowercase, sorted."),
    metadata: z.record(z.string(), z.unknown()).describe("An admin's own facts about the connection: a JSON object of at most 8 KiB."),
    requestedScopes: z.array(z.string()).describe("The scopes the consent asked for."),
    grantedScopes: z.array(z.string()).describe("The scopes the provider granted."),
    disabled: z.boolean().describe("Paused by an admin: its token is refused (409, tokenErrorCode CONNECTION_DISABLED) until resumed."),
  }),
  "Connection",
  "One connection of the key's company. No secret.",
);

export const connectionList = component(z.object({ connections: z.array(apiConnection) }), "ConnectionList", "The key's company's connections, oldest first.");

export const connectionToken = component(
  z.object({
    connectionId: z.uuid(),
    provider: z.string(),
    accessToken: z.string().describe("Valid now: refreshed first when it was about to expire."),
    tokenType: z.literal("Bearer"),
    expiresAt: z.iso.datetime(),
    externalId: z.string().nullable().describe("QuickBooks realmId, Xero tenantId."),
    tenants: z.array(tenant),
  }),
  "ConnectionToken",
  "A connection's access token. Treat it as a secret; do not store it past expiresAt.",
);

export const connectionIdParam = z.uuid();

/**
 * GET /api/v1/connections' filter, from the query string: `tag` (repeatable: every one must be
 * on the connection) and `metadata[key]=value` (each key equal to its value; a value in the URL is
 * text, and "42" or "true" also match the number or boolean). The service checks them (INVALID_INPUT).
 */
export function connectionFilterOf(url: URL): { tags?: string[]; metadata?: Record<string, string> } | undefined {
  const tags = url.searchParams.getAll("tag");
  const metadata: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    const key = /^metadata\[(.+)\]$/.exec(name)?.[1];
    if (key !== undefined) metadata[key] = value;
  }
  if (tags.length === 0 && Object.keys(metadata).length === 0) return undefined;
  return { ...(tags.length > 0 && { tags }), ...(Object.keys(metadata).length > 0 && { metadata }) };
}
