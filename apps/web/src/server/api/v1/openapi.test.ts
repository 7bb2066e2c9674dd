import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "./openapi";
import { apiConnection, connectionToken } from "./schemas";

describe("the /api/v1 OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document (the 3.1 JSON Schema, offline)", async () => {
    const validator = new Validator();
    const result = await validator.validate(openApiDocument());
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("notices a broken document (the check can fail)", async () => {
    const broken = { ...openApiDocument(), paths: { "/x": { get: { responses: { "200": { content: {} } } } } } };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("takes its components from the zod schemas the handlers answer through, every $ref resolving", () => {
    const document = openApiDocument();
    const schemas = document.components.schemas as Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
    expect(Object.keys(schemas).sort()).toEqual(["Connection", "ConnectionList", "ConnectionToken", "Error", "Scope", "Tenant"]);
    expect(Object.keys(schemas.Connection!.properties!).sort()).toEqual(Object.keys(apiConnection.shape).sort());
    expect(schemas.ConnectionToken!.required!.sort()).toEqual(Object.keys(connectionToken.shape).sort());
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(5);
    for (const name of refs) expect(schemas[name], name).toBeDefined();
    // Every operation but the document itself names the scope it needs.
    const operations = Object.values(document.paths).flatMap((p) => Object.values(p as Record<string, { security: { apiKey?: string[] }[] }>));
    expect(operations.filter((o) => o.security.length === 0)).toHaveLength(1);
    for (const o of operations.filter((o) => o.security.length > 0)) expect(["connections:read", "tokens:read", "proxy"]).toContain(o.security[0]!.apiKey![0]);
  });
});
