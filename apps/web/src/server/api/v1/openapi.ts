// The OpenAPI 3.1 document of /api/v1, generated from the zod schemas the handlers answer
// through (schemas.ts): zod 4's own JSON Schema output (draft 2020-12, OpenAPI 3.1's dialect)
// becomes the components; the operations around them are declared here, once.
import { z } from "zod";
import type { ApiKeyScope } from "@tokenvault/token";
import { apiV1Registry, connectionIdParam } from "./schemas";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const error = (description: string) => ({ description, content: json(ref("Error")) });

/** The refusals every call may meet. */
const COMMON_ERRORS = {
  "401": error("No API key, or an unknown or revoked one."),
  "403": error("The key lacks the operation's scope."),
  "429": { ...error("The key's limit of calls a minute (RATE_LIMIT_API_CALLS_PER_MINUTE) is spent, or the provider's; Retry-After says when to retry."), headers: { "Retry-After": { schema: { type: "integer" } } } },
  "503": error("The token database or the provider is unavailable; retry shortly."),
};

const secured = (scope: ApiKeyScope) => ({ security: [{ apiKey: [scope] }], "x-scope": scope });

function components(): Record<string, object> {
  const { schemas } = z.toJSONSchema(apiV1Registry, { target: "draft-2020-12", io: "output", uri: (id) => `#/components/schemas/${id}` });
  // Each one is a component of this document, not a standalone JSON Schema resource.
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, (({ $schema: _s, $id: _i, ...rest }) => rest)(schema as Record<string, unknown>)]));
}

const idParameter = { name: "id", in: "path", required: true, description: "The connection's id, as GET /api/v1/connections lists it.", schema: (({ $schema: _s, ...rest }) => rest)(z.toJSONSchema(connectionIdParam)) };

const proxyOperation = (method: string) => ({
  operationId: `proxy${method}`,
  summary: `${method} the provider's API as the connection`,
  description:
    "Sent to the connection's API base (QuickBooks /v3/company/{realmId}, Xero api.xro/2.0 with xero-tenant-id) with the connection's token; a 401 refreshes the token once and retries; the provider's limits are shared by every process. The provider's status, headers and body come back marked `tokenvault-source: provider`. Your Authorization header is never forwarded.",
  ...secured("proxy"),
  parameters: [
    idParameter,
    { name: "path", in: "path", required: true, description: "The path below the API base (may hold slashes; `..`, encoded slashes and absolute URLs are refused).", schema: { type: "string" } },
    { name: "Idempotency-Key", in: "header", required: false, description: "Makes a POST safe to retry after a 5xx (QuickBooks requestid, Xero Idempotency-Key).", schema: { type: "string", maxLength: 200 } },
  ],
  ...(method !== "GET" && method !== "DELETE" && { requestBody: { required: false, description: "Sent as is, at most MAX_REQUEST_BODY_BYTES.", content: { "*/*": { schema: {} } } } }),
  responses: {
    default: { description: "The provider's answer, status and body as it sent them (tokenvault-source: provider)." },
    "400": error("The path or a header was refused (tokenvault-source: tokenvault)."),
    ...COMMON_ERRORS,
    "404": error("No such connection in the key's company."),
    "409": error("The connection is paused by an admin (tokenErrorCode CONNECTION_DISABLED)."),
    "412": error("The connection must be reconnected (tokenErrorCode REAUTH_REQUIRED)."),
    "413": error("The body is over MAX_REQUEST_BODY_BYTES."),
  },
});

export function openApiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "Tokenvault HTTP API",
      version: "1",
      description: "Company connections, their valid tokens and a proxy to the providers' APIs, for services in any language. Authenticate with a company API key (dashboard, API keys page): `Authorization: Bearer tvk_...`.",
    },
    components: {
      securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "A company API key (tvk_...), created by an administrator; scopes connections:read, tokens:read, proxy." } },
      schemas: components(),
    },
    paths: {
      "/api/v1/connections": {
        get: {
          operationId: "listConnections",
          summary: "The company's connections",
          ...secured("connections:read"),
          parameters: [
            { name: "tag", in: "query", required: false, description: "Only connections with this tag (repeat it: every one must be on the connection).", schema: { type: "array", items: { type: "string", maxLength: 40 } }, style: "form", explode: true },
            {
              name: "metadata",
              in: "query",
              required: false,
              description: "Only connections whose metadata has each key equal to its value: metadata[region]=eu. Values are text; \"42\" and \"true\" also match the number and the boolean.",
              schema: { type: "object", additionalProperties: { type: "string" } },
              style: "deepObject",
              explode: true,
            },
          ],
          responses: { "200": { description: "The connections, oldest first.", content: json(ref("ConnectionList")) }, "400": error("A malformed filter (a tag with spaces, more than 20 tags)."), ...COMMON_ERRORS },
        },
      },
      "/api/v1/connections/{id}/token": {
        get: {
          operationId: "getConnectionToken",
          summary: "The connection's access token, valid now",
          ...secured("tokens:read"),
          parameters: [idParameter],
          responses: {
            "200": { description: "The token, refreshed first when it was about to expire.", content: json(ref("ConnectionToken")) },
            ...COMMON_ERRORS,
            "404": error("No such connection in the key's company."),
            "409": error("The connection is paused by an admin (tokenErrorCode CONNECTION_DISABLED); nothing was revoked."),
            "412": error("The connection must be reconnected (tokenErrorCode REAUTH_REQUIRED)."),
          },
        },
      },
      "/api/v1/connections/{id}/proxy/{path}": Object.fromEntries(["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => [m.toLowerCase(), proxyOperation(m)])),
      "/api/v1/openapi.json": {
        get: { operationId: "getOpenApiDocument", summary: "This document", security: [], responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } } } },
      },
    },
  };
}
