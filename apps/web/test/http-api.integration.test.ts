// /api/v1 on the production build, as a service in another language would use it: an admin
// creates company API keys through tRPC, then curl (a child process, against 127.0.0.1) lists
// connections, reads a token and calls the provider simulator through the proxy. Scopes, company
// scoping, revocation, limits per key, and that the key is nowhere in clear afterwards.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpApp, superjsonBody, type HttpApp } from "./http-app";

const run = promisify(execFile);
const CALLS_PER_MINUTE = 25;
const EXAMPLE = join(import.meta.dirname, "../../../docs/examples/tokenvault_api.py");

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One curl run: `-D -` writes the status line and headers first, then the body. */
async function curl(args: string[]): Promise<Answer> {
  const { stdout } = await run("curl", ["-sS", "-D", "-", ...args], { maxBuffer: 4 << 20 });
  const at = stdout.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = stdout.slice(0, at).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(" ")[1]), headers, body: stdout.slice(at + 4) };
}

const json = <T>(answer: Answer) => JSON.parse(answer.body) as T;
type ApiError = { error: { code: string; message: string; tokenErrorCode?: string } };

describe("/api/v1 with company API keys, on the production build", () => {
  let app: HttpApp;
  const keys: string[] = [];
  let acmeConnection: { id: string; externalId: string };
  let globexConnection: string;

  const get = (key: string | null, path: string, extra: string[] = []) => curl([...(key ? ["-H", `Authorization: Bearer ${key}`] : []), ...extra, `${app.url}${path}`]);

  async function trpc<T>(userId: string, procedure: string, input: unknown): Promise<{ status: number; data: T }> {
    const response = await app.post(`/api/trpc/${procedure}`, superjsonBody(input), { userId });
    const body = (await response.json()) as { result?: { data: { json: T } } };
    return { status: response.status, data: body.result?.data.json as T };
  }

  async function createKey(userId: string, name: string, scopes: string[]): Promise<{ id: string; key: string }> {
    const created = await trpc<{ apiKey: { id: string }; key: string }>(userId, "apiKey.create", { name, scopes });
    expect(created.status).toBe(200);
    keys.push(created.data.key);
    return { id: created.data.apiKey.id, key: created.data.key };
  }

  /** Connects a provider over HTTP as the admin would: connect, the simulator's consent (auto-approved), the callback with their session. */
  async function connect(userId: string, provider: string): Promise<void> {
    const { data } = await trpc<{ url: string }>(userId, "connection.connect", { provider });
    const consent = await fetch(data.url, { redirect: "manual" });
    const callback = await fetch(consent.headers.get("location")!, { headers: { cookie: await app.cookie(userId) }, redirect: "manual" });
    expect(callback.headers.get("location")).toContain("connected");
  }

  beforeAll(async () => {
    app = await startHttpApp("web-http-api", { RATE_LIMIT_API_CALLS_PER_MINUTE: String(CALLS_PER_MINUTE), MAX_REQUEST_BODY_BYTES: "4096" });
    await connect("alice", "quickbooks");
    await connect("carol", "xero");
    const acme = await app.db.prisma.connection.findFirstOrThrow({ where: { companyId: "acme" } });
    acmeConnection = { id: acme.id, externalId: acme.externalId };
    globexConnection = (await app.db.prisma.connection.findFirstOrThrow({ where: { companyId: "globex" } })).id;
  }, 180_000);
  afterAll(() => app?.close());

  it("keeps members from creating, listing or revoking keys", async () => {
    expect((await trpc("bob", "apiKey.create", { name: "nope", scopes: ["proxy"] })).status).toBe(403);
    expect((await app.get("/api/trpc/apiKey.list", { userId: "bob" })).status).toBe(403);
    expect((await trpc("bob", "apiKey.revoke", { id: randomUUID() })).status).toBe(403);
    expect(await app.db.prisma.apiKey.count()).toBe(0);
  });

  it("lists connections, reads a token and calls the provider through the proxy, from curl", async () => {
    const { key } = await createKey("alice", "billing-service", ["connections:read", "tokens:read", "proxy"]);
    expect(key).toMatch(/^tvk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);

    const listed = await get(key, "/api/v1/connections");
    expect(listed.status).toBe(200);
    expect(listed.headers["cache-control"]).toBe("no-store");
    const { connections } = json<{ connections: { id: string; provider: string; externalId: string; status: string }[] }>(listed);
    expect(connections).toEqual([expect.objectContaining({ id: acmeConnection.id, provider: "quickbooks", externalId: acmeConnection.externalId, status: "VALID" })]);

    const token = json<{ accessToken: string; expiresAt: string; externalId: string; connectionId: string; tokenType: string }>(await get(key, `/api/v1/connections/${acmeConnection.id}/token`));
    expect(token).toMatchObject({ connectionId: acmeConnection.id, externalId: acmeConnection.externalId, tokenType: "Bearer" });
    expect(new Date(token.expiresAt).getTime()).toBeGreaterThan(Date.now());
    // The token is the provider's: the simulator takes it directly.
    const direct = await fetch(`${app.sim.url}/intuit/v3/company/${token.externalId}/companyinfo/${token.externalId}`, { headers: { authorization: `Bearer ${token.accessToken}` } });
    expect(direct.status).toBe(200);

    const proxied = await get(key, `/api/v1/connections/${acmeConnection.id}/proxy/companyinfo/${acmeConnection.externalId}?minorversion=75`, ["-H", "Connection: keep-alive, x-drop", "-H", "x-drop: 1"]);
    expect(proxied.status).toBe(200);
    expect(proxied.headers["tokenvault-source"]).toBe("provider");
    expect(json<{ CompanyInfo: { CompanyName: string } }>(proxied).CompanyInfo.CompanyName).toBeTruthy();

    // The provider's own refusal comes back as it sent it.
    const refusedByProvider = await get(key, `/api/v1/connections/${acmeConnection.id}/proxy/companyinfo/0000`);
    expect(refusedByProvider.status).toBe(400);
    expect(refusedByProvider.headers["tokenvault-source"]).toBe("provider");
    expect(refusedByProvider.body).toContain("CompanyInfo 0000 not found");
    expect(refusedByProvider.body).not.toContain(token.accessToken);
  });

  it("refuses proxied paths that could leave the API base, and bodies over MAX_REQUEST_BODY_BYTES", async () => {
    const { key } = await createKey("alice", "proxy-edges", ["proxy"]);
    const base = `/api/v1/connections/${acmeConnection.id}/proxy`;
    for (const path of [`${base}/companyinfo%2F..%2F..%2Fother`, `${base}/https:%2F%2Fevil.example%2Fx`, `${base}/a%5Cb`]) {
      const answer = await get(key, path, ["--path-as-is"]);
      expect(answer.status, path).toBe(400);
      expect(answer.headers["tokenvault-source"]).toBe("tokenvault");
      expect(json<ApiError>(answer).error).toMatchObject({ code: "BAD_REQUEST", tokenErrorCode: "INVALID_INPUT" });
    }
    // An empty segment: Next itself redirects to the path without it, which stays below the base.
    const doubled = await get(key, `${base}/companyinfo//${acmeConnection.externalId}`, ["--path-as-is"]);
    expect(doubled.status).toBe(308);
    expect(doubled.headers.location).toBe(`${base}/companyinfo/${acmeConnection.externalId}`);
    // `..` itself: the URL is resolved before routing, so it never reaches a provider path.
    const climbed = await get(key, `${base}/../../../../connections`, ["--path-as-is"]);
    expect(climbed.status).toBeGreaterThanOrEqual(400);
    expect(climbed.headers["tokenvault-source"]).not.toBe("provider");

    const tooLarge = await curl(["-X", "POST", "-H", `Authorization: Bearer ${key}`, "-H", "content-type: application/json", "--data-binary", `"${"x".repeat(5000)}"`, `${app.url}${base}/companyinfo/${acmeConnection.externalId}`]);
    expect(tooLarge.status).toBe(413);
    expect(json<ApiError>(tooLarge).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("answers 403 for a missing scope, 401 for a missing, unknown or malformed key", async () => {
    const { key } = await createKey("alice", "read-only", ["connections:read"]);
    expect((await get(key, "/api/v1/connections")).status).toBe(200);
    for (const path of [`/api/v1/connections/${acmeConnection.id}/token`, `/api/v1/connections/${acmeConnection.id}/proxy/companyinfo/${acmeConnection.externalId}`]) {
      const refused = await get(key, path);
      expect(refused.status).toBe(403);
      expect(json<ApiError>(refused).error).toEqual({ code: "FORBIDDEN", message: expect.stringMatching(/does not have the (tokens:read|proxy) scope/) as string });
    }
    const unknown = `tvk_${"0".repeat(12)}_${"A".repeat(43)}`;
    for (const presented of [null, unknown, "not-a-key", key.slice(0, -1) + (key.endsWith("A") ? "B" : "A")]) {
      const refused = await get(presented, "/api/v1/connections");
      expect(refused.status).toBe(401);
      expect(refused.headers["www-authenticate"]).toBe('Bearer realm="tokenvault"');
      expect(json<ApiError>(refused).error.code).toBe("UNAUTHORIZED");
    }
    // A browser session is no key.
    expect((await curl(["-H", `cookie: ${await app.cookie("alice")}`, `${app.url}/api/v1/connections`])).status).toBe(401);
  });

  it("answers 404 for another company's connection id, as for an unknown or malformed one", async () => {
    const { key } = await createKey("alice", "scoping", ["connections:read", "tokens:read", "proxy"]);
    for (const id of [globexConnection, randomUUID(), "not-a-uuid"]) {
      for (const path of [`/api/v1/connections/${id}/token`, `/api/v1/connections/${id}/proxy/Organisation`]) {
        const refused = await get(key, path);
        expect(refused.status, path).toBe(404);
        expect(json<ApiError>(refused).error).toMatchObject({ code: "NOT_FOUND", message: "No such connection." });
      }
    }
    // Carol's key sees globex's Xero connection only.
    const { key: globexKey } = await createKey("carol", "globex", ["connections:read", "proxy"]);
    const { connections } = json<{ connections: { id: string; provider: string }[] }>(await get(globexKey, "/api/v1/connections"));
    expect(connections).toEqual([expect.objectContaining({ id: globexConnection, provider: "xero" })]);
    const organisation = await get(globexKey, `/api/v1/connections/${globexConnection}/proxy/Organisation`);
    expect(organisation.status).toBe(200);
    expect(organisation.body).toContain("Organisations");
  });

  it("filters the list by ?tag= and ?metadata[key]=value, and answers 409 CONNECTION_DISABLED for a paused connection's token and proxy", async () => {
    const { key } = await createKey("alice", "filters-and-pause", ["connections:read", "tokens:read", "proxy"]);
    expect((await trpc("alice", "connection.update", { connectionId: acmeConnection.id, settings: { tags: ["Billing"], metadata: { region: "eu", tier: 2 } } })).status).toBe(200);
    const ids = async (query: string) => json<{ connections: { id: string }[] }>(await get(key, `/api/v1/connections${query}`)).connections.map((c) => c.id);
    expect(await ids("?tag=billing")).toEqual([acmeConnection.id]);
    expect(await ids("?tag=billing&metadata%5Bregion%5D=eu&metadata%5Btier%5D=2")).toEqual([acmeConnection.id]);
    expect(await ids("?tag=other")).toEqual([]);
    expect(await ids("?metadata%5Bregion%5D=us")).toEqual([]);
    const malformed = await get(key, "/api/v1/connections?tag=has%20space");
    expect(malformed.status).toBe(400);
    expect(json<ApiError>(malformed).error.tokenErrorCode).toBe("INVALID_INPUT");

    expect((await trpc("bob", "connection.disable", { connectionId: acmeConnection.id })).status).toBe(403);
    expect((await trpc("alice", "connection.disable", { connectionId: acmeConnection.id })).status).toBe(200);
    try {
      const [listed] = json<{ connections: { id: string; disabled: boolean; tags: string[]; metadata: object }[] }>(await get(key, "/api/v1/connections")).connections;
      expect(listed).toMatchObject({ id: acmeConnection.id, disabled: true, tags: ["billing"], metadata: { region: "eu", tier: 2 } });
      for (const path of [`/api/v1/connections/${acmeConnection.id}/token`, `/api/v1/connections/${acmeConnection.id}/proxy/companyinfo/${acmeConnection.externalId}`]) {
        const refused = await get(key, path);
        expect(refused.status, path).toBe(409);
        expect(refused.headers["tokenvault-source"]).toBe("tokenvault");
        expect(json<ApiError>(refused).error).toMatchObject({ code: "CONFLICT", tokenErrorCode: "CONNECTION_DISABLED" });
      }
    } finally {
      expect((await trpc("alice", "connection.enable", { connectionId: acmeConnection.id })).status).toBe(200);
    }
    expect((await get(key, `/api/v1/connections/${acmeConnection.id}/token`)).status).toBe(200);
  });

  it("refuses a revoked key at once", async () => {
    const { id, key } = await createKey("alice", "to-revoke", ["connections:read"]);
    expect((await get(key, "/api/v1/connections")).status).toBe(200);
    const revoked = await trpc<{ revokedAt: string | null }>("alice", "apiKey.revoke", { id });
    expect(revoked.status).toBe(200);
    const refused = await get(key, "/api/v1/connections");
    expect(refused.status).toBe(401);
    expect(json<ApiError>(refused).error.message).toBe("The API key is unknown or was revoked.");
    // Another company's admin cannot revoke it: it is not theirs.
    const other = await createKey("alice", "not-carols", ["connections:read"]);
    expect((await trpc("carol", "apiKey.revoke", { id: other.id })).status).toBe(404);
    expect((await get(other.key, "/api/v1/connections")).status).toBe(200);
  });

  it("limits calls per key (RATE_LIMIT_API_CALLS_PER_MINUTE): 429 with Retry-After, other keys unaffected", async () => {
    const busy = await createKey("alice", "busy", ["connections:read"]);
    const calm = await createKey("alice", "calm", ["connections:read"]);
    const statuses: number[] = [];
    for (let i = 0; i < CALLS_PER_MINUTE; i++) statuses.push((await get(busy.key, "/api/v1/connections")).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const refused = await get(busy.key, "/api/v1/connections");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(json<ApiError>(refused).error.message).toMatch(/^Too many API calls with this key\. Try again in \d+ seconds?\.$/);
    expect((await get(calm.key, "/api/v1/connections")).status).toBe(200);
  });

  it("serves a valid OpenAPI 3.1 document at /api/v1/openapi.json, with no key", async () => {
    const served = await curl([`${app.url}/api/v1/openapi.json`]);
    expect(served.status).toBe(200);
    const document = json<{ openapi: string; paths: Record<string, unknown> }>(served);
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toEqual(["/api/v1/connections", "/api/v1/connections/{id}/token", "/api/v1/connections/{id}/proxy/{path}", "/api/v1/openapi.json"]);
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("runs the docs' Python example against it (when python3 is installed)", async (context) => {
    const python = await run("python3", ["--version"]).then(
      () => true,
      () => false,
    );
    if (!python) return context.skip("python3 is not installed: the Python example of docs/http-api.md is not run");
    const { key } = await createKey("alice", "python", ["connections:read", "tokens:read", "proxy"]);
    const { stdout } = await run("python3", [EXAMPLE], { env: { ...process.env, TOKENVAULT_URL: app.url, TOKENVAULT_API_KEY: key } });
    const steps = stdout.trim().split("\n").map((line) => JSON.parse(line) as { step: string; status: number; source?: string; hasAccessToken?: boolean });
    expect(steps.map((s) => [s.step, s.status])).toEqual([
      ["list", 200],
      ["token", 200],
      ["proxy", 200],
    ]);
    expect(steps[1]!.hasAccessToken).toBe(true);
    expect(steps[2]!.source).toBe("provider");
  });

  it("audits key changes and every call with the key's id, and holds no key in clear in the database, the audit rows or the server's output", async () => {
    // Token reads and API calls are written in batches (1 s).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const audit = await app.db.prisma.auditLog.findMany({ where: { action: { in: ["API_KEY", "API_CALL", "TOKEN_READ"] } } });
    const apiKeys = await app.db.prisma.apiKey.findMany();
    expect(apiKeys.length).toBe(keys.length);
    const created = audit.filter((r) => r.action === "API_KEY" && r.requestMethod === "POST");
    expect(created.map((r) => (r.details as { apiKeyId: string }).apiKeyId).sort()).toEqual(apiKeys.map((k) => k.id).sort());
    expect(audit.filter((r) => r.action === "API_KEY" && r.requestMethod === "DELETE")).toHaveLength(1);

    const calls = audit.filter((r) => r.action === "API_CALL");
    for (const row of calls) {
      const keyId = (row.details as { apiKeyId: string }).apiKeyId;
      expect(apiKeys.map((k) => k.id)).toContain(keyId);
      expect(row.userId).toBe(`apikey:${keyId}`);
    }
    const statuses = new Set(calls.map((r) => r.responseStatus));
    for (const status of [200, 400, 403, 404, 413, 429]) expect(statuses).toContain(status);
    const proxied = calls.find((r) => r.apiEndpoint === "/api/v1/connections/{id}/proxy/{path}" && r.responseStatus === 200 && r.connectionType === "quickbooks");
    expect(proxied?.details).toMatchObject({ connectionId: acmeConnection.id, path: `/companyinfo/${acmeConnection.externalId}` });
    // The token reads the calls caused name the key too.
    expect(audit.filter((r) => r.action === "TOKEN_READ" && r.userId.startsWith("apikey:")).length).toBeGreaterThan(0);

    const everything = JSON.stringify(await Promise.all([app.db.prisma.apiKey.findMany(), app.db.prisma.auditLog.findMany(), app.db.prisma.rateLimiterFlexible.findMany(), app.db.prisma.tokenStoreEntry.findMany()]));
    const output = app.server.output();
    for (const key of keys) {
      const secret = key.slice("tvk_".length + 13);
      expect(everything).not.toContain(secret);
      expect(output).not.toContain(secret);
    }
    expect(output).not.toContain("tvk_");
  });
});
