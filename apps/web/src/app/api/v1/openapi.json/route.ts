import { openApiDocument } from "~/server/api/v1/openapi";

/** GET /api/v1/openapi.json: the API's OpenAPI 3.1 document, generated from its zod schemas. Public: it holds no data. */
export function GET() {
  return Response.json(openApiDocument(), { headers: { "cache-control": "public, max-age=300" } });
}
