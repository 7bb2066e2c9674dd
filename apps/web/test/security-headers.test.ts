import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMigrations } from "@tokenvault/db/migrate";
import { queryInput, rawRequest, startHttpApp, type HttpApp } from "./http-app";

const HEALTH_TOKEN = randomBytes(24).toString("base64url");

describe("response headers and disclosure on the production build", () => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await startHttpApp("web-headers", { HEALTH_TOKEN });
  });
  afterAll(() => app?.close());

  it("marks every tRPC answer, success or error, not to be stored", async () => {
    const answers = [
      await app.get("/api/trpc/connection.list", { userId: "alice" }),
      await app.get(`/api/trpc/connection.status?${queryInput({ provider: "quickbooks" })}`, { userId: "alice" }),
      await app.get("/api/trpc/connection.list"),
      await app.post("/api/trpc/connection.check", '{"json":', { userId: "alice" }),
    ];
    expect(answers.map((r) => [r.status, r.headers.get("cache-control")])).toEqual([
      [200, "no-store"],
      [200, "no-store"],
      [401, "no-store"],
      [400, "no-store"],
    ]);
  });

  it("sends a nonce-based Content-Security-Policy with every page, its nonce on every script", async () => {
    const nonces = new Set<string>();
    const pages = [["/", undefined, 200], ["/sign-in", undefined, 200], ["/connections", "alice", 200], ["/audit", "alice", 200], ["/no-such-page", undefined, 404]] as const;
    for (const [path, userId, status] of pages) {
      const response = await app.get(path, { userId });
      expect([path, response.status]).toEqual([path, status]);
      const csp = response.headers.get("content-security-policy") ?? "";
      const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      expect(nonce, csp).toBeDefined();
      nonces.add(nonce!);
      expect(directives.get("script-src")).toEqual(["'self'", `'nonce-${nonce}'`, "'strict-dynamic'"]);
      expect(directives.get("object-src")).toEqual(["'none'"]);
      expect(directives.get("base-uri")).toEqual(["'none'"]);
      expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
      expect(directives.get("default-src")).toEqual(["'self'"]);
      const html = await response.text();
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      expect(scripts.length).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
      // An inline <style> without the nonce would be blocked (Next's own 404 page has one).
      for (const tag of html.match(/<style\b[^>]*>/g) ?? []) expect(tag).toContain(`nonce="${nonce}"`);
      // No inline event handler attributes: the policy would block them.
      expect(html).not.toMatch(/<[^>]+\son[a-z]+=/i);
      expect(response.headers.get("x-frame-options")).toBe("DENY");
    }
    expect(nonces.size).toBe(pages.length);
  });

  it("sends the Content-Security-Policy with every HTML answer, requests that carry a body included", async () => {
    const cookie = await app.cookie("alice");
    const requests: { method: string; path: string; headers: Record<string, string>; body: Buffer | Buffer[] }[] = [
      { method: "GET", path: "/connections", headers: { cookie, "content-length": "0" }, body: Buffer.alloc(0) },
      { method: "GET", path: "/sign-in", headers: { "transfer-encoding": "chunked" }, body: [Buffer.from("x")] },
      { method: "POST", path: "/connections", headers: { cookie, "content-type": "application/x-www-form-urlencoded", "content-length": "3" }, body: Buffer.from("a=b") },
      { method: "POST", path: "/sign-in", headers: { "content-type": "text/plain", "content-length": "2" }, body: Buffer.from("[]") },
    ];
    let rendered = 0;
    for (const { method, path, headers, body } of requests) {
      const response = await rawRequest(app.url, { method, path, headers, body });
      if (!("status" in response)) throw response.error;
      const html = response.body.includes("<html") || String(response.headers["content-type"]).startsWith("text/html");
      const csp = String(response.headers["content-security-policy"] ?? "");
      // Either refused before rendering, or rendered under the policy with its nonce on every script.
      if (!html) continue;
      rendered += 1;
      const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      expect([method, path, response.status, nonce !== undefined]).toEqual([method, path, response.status, true]);
      for (const tag of response.body.match(/<script\b[^>]*>/g) ?? []) expect(tag).toContain(`nonce="${nonce}"`);
    }
    // The GETs at least are pages, rendered.
    expect(rendered).toBeGreaterThanOrEqual(2);
  });

  it("sends Strict-Transport-Security only on responses to HTTPS requests", async () => {
    expect((await app.get("/sign-in")).headers.get("strict-transport-security")).toBeNull();
    // As a TLS-terminating proxy forwards it (a browser ignores the header over plain HTTP anyway).
    const overHttps = await app.get("/sign-in", { headers: { "x-forwarded-proto": "https" } });
    expect(overHttps.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
    expect(overHttps.headers.get("content-security-policy")).toContain("upgrade-insecure-requests");
  });

  it("shows strangers nothing about the deployment on the home page", async () => {
    const response = await app.get("/");
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain("Open the dashboard");
    for (const text of ["PostgreSQL", "PGlite", "Migrations applied", "migrations-applied", "Database"]) expect(html).not.toContain(text);
  });

  it("reports the database to operators only: an admin session or the HEALTH_TOKEN bearer", async () => {
    const health = (init?: Parameters<HttpApp["get"]>[1]) => app.get("/api/health", init);
    const expected = { status: "ok", database: { kind: "postgresql", migrationsApplied: readMigrations().length } };
    const asAdmin = await health({ userId: "alice" });
    expect([asAdmin.status, asAdmin.headers.get("cache-control"), await asAdmin.json()]).toEqual([200, "no-store", expected]);
    const withToken = await health({ headers: { authorization: `Bearer ${HEALTH_TOKEN}` } });
    expect([withToken.status, await withToken.json()]).toEqual([200, expected]);
    expect((await health()).status).toBe(401);
    expect((await health({ headers: { authorization: `Bearer ${HEALTH_TOKEN}x` } })).status).toBe(401);
    expect((await health({ headers: { authorization: "Bearer " } })).status).toBe(401);
    expect((await health({ userId: "bob" })).status).toBe(403);
    // The bearer skips the session, not the body limit.
    const oversized = await rawRequest(app.url, {
      method: "GET",
      path: "/api/health",
      headers: { authorization: `Bearer ${HEALTH_TOKEN}`, "content-length": String(128 * 1024) },
      body: Buffer.alloc(128 * 1024),
    });
    expect("status" in oversized && oversized.status).toBe(413);
  });
});
