import type { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TokenError } from "@tokenvault/token";
import { parseInput } from "~/server/api/errors";
import { oauthCallback } from "~/server/api/oauth-callback";
import { jsonRoute } from "~/server/api/route-handler";
import { auditFilters } from "~/server/api/routers/schemas";
import type { Caller } from "~/server/auth/caller";
import { alice, bob, carol, CLIENT_ADDRESS, startRouterHarness, type RouterHarness } from "./router-harness";
import { codeOf } from "./trpc-code";

// Every procedure through the server-side caller, with a real token service, PostgreSQL and
// the simulator; the session resolver is the pluggable one a host app would provide.

describe("routers through the server-side caller", () => {
  let h: RouterHarness;
  beforeAll(async () => {
    // One organisation per Xero consent: one Xero connection per company, which the seed signatures name.
    h = await startRouterHarness({ database: "routers", simulator: { xeroTenantsPerAuthorization: 1 }, oidc: true });
  });
  afterAll(() => h.close());

  it("refuses every procedure without a session", async () => {
    const anonymous = await h.api(null);
    expect(await codeOf(anonymous.connection.list())).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous.connection.status({ provider: "quickbooks" }))).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous.connection.connect({ provider: "quickbooks" }))).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous.connection.check({ provider: "quickbooks" }))).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous.connection.refresh({ provider: "quickbooks" }))).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous.connection.disconnect({ provider: "quickbooks" }))).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous.audit.list({}))).toBe("UNAUTHORIZED");
  });

  it("runs every procedure for an admin; no result carries a token or a ciphertext", async () => {
    const admin = await h.api(alice);
    const { url } = await admin.connection.connect({ provider: "quickbooks" });
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await h.service.handleCallback({ provider: "quickbooks", callbackUrl: location, companyId: "acme", context: { userId: "alice" } });

    const results: unknown[] = [
      await admin.connection.list(),
      await admin.connection.status({ provider: "quickbooks" }),
      await admin.connection.check({ provider: "quickbooks" }),
      await admin.connection.refresh({ provider: "quickbooks" }),
      await admin.audit.list({ limit: 200 }),
    ];
    const secrets = (await h.db.prisma.tokenSecret.findMany({ where: { companyId: "acme" } })).map((s) => h.vault.open(s.ciphertext, s));
    const text = JSON.stringify(results);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/tv1\./);
    expect(results[2]).toMatchObject({ status: "HEALTHY" });
    const audit = results[4] as { items: { action: string; ipAddress: string | null }[] };
    expect(audit.items.find((i) => i.action === "CHECK")?.ipAddress).toBe(CLIENT_ADDRESS);
    expect(await admin.connection.disconnect({ provider: "quickbooks" })).toEqual({ disconnected: true });
  });

  it("maps token errors to tRPC codes with safe messages", async () => {
    const admin = await h.api(alice);
    expect(await codeOf(admin.connection.check({ provider: "quickbooks" }))).toBe("NOT_FOUND"); // disconnected above
    expect(await codeOf(admin.connection.status({ provider: "sage" }))).toBe("NOT_FOUND");
    expect(await codeOf(admin.connection.status({ provider: "../../etc" }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.audit.list({ cursor: "forged" }))).toBe("BAD_REQUEST");
    const error = await admin.connection.refresh({ provider: "xero" }).catch((e: unknown) => e as TRPCError);
    expect(error).toMatchObject({ code: "NOT_FOUND", message: "This provider is not connected." });
  });

  it("scopes to the caller's company and keeps members out of admin procedures", async () => {
    const admin = await h.api(alice);
    const { url } = await admin.connection.connect({ provider: "xero" });
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await h.service.handleCallback({ provider: "xero", callbackUrl: location, companyId: "acme", context: { userId: "alice" } });

    const member = await h.api(bob);
    expect((await member.connection.list()).find((c) => c.provider === "xero")?.connected).toBe(true);
    expect(await codeOf(member.audit.list({}))).toBe("FORBIDDEN");
    expect(await codeOf(member.connection.refresh({ provider: "xero" }))).toBe("FORBIDDEN");
    // Members view and check; connecting, reconnecting and disconnecting are the admins'.
    expect(await codeOf(member.connection.connect({ provider: "quickbooks" }))).toBe("FORBIDDEN");
    expect(await codeOf(member.connection.connect({ provider: "xero" }))).toBe("FORBIDDEN");
    expect(await codeOf(member.connection.disconnect({ provider: "xero" }))).toBe("FORBIDDEN");
    expect(await member.connection.check({ provider: "xero" })).toMatchObject({ status: "HEALTHY" });

    const other = await h.api(carol);
    expect((await other.connection.list()).every((c) => !c.connected)).toBe(true);
    expect(await codeOf(other.connection.disconnect({ provider: "xero" }))).toBe("NOT_FOUND");
    expect((await other.audit.list({})).items).toEqual([]);
    // acme's connection is untouched by globex's attempt.
    expect((await member.connection.status({ provider: "xero" })).status).toBe("VALID");
  });

  it("shows audit rows without details, company or user agent", async () => {
    const { items } = await (await h.api(alice)).audit.list({ limit: 200 });
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(
        ["action", "apiEndpoint", "connectionId", "connectionType", "errorMessage", "id", "ipAddress", "outcome", "requestMethod", "responseStatus", "responseTime", "timestamp", "userId"],
      );
    }
  });
  it("lists the deployment's providers, a configured OIDC provider included", async () => {
    expect(await codeOf((await h.api(null)).provider.list())).toBe("UNAUTHORIZED");
    const providers = await (await h.api(bob)).provider.list();
    expect(providers.map((p) => p.id)).toEqual(["quickbooks", "xero", "acme-idp"]);
    expect(providers).toContainEqual({ id: "acme-idp", displayName: "Acme Identity", scopes: ["openid", "offline_access"], optionalScopes: [] });
  });

  it("takes 'qbo' for QuickBooks in procedures and in the callback path; answers and audit rows say quickbooks", async () => {
    const admin = await h.api(alice);
    const { url } = await admin.connection.connect({ provider: "qbo" });
    const location = new URL((await fetch(url, { redirect: "manual" })).headers.get("location")!);
    expect(location.pathname).toBe("/api/oauth/quickbooks/callback");
    location.pathname = "/api/oauth/qbo/callback";
    const back = await oauthCallback(h.deps(alice), new Request(location), "qbo");
    expect([back.status, back.headers.get("location")]).toEqual([303, "/connections?connected=quickbooks"]);

    expect(await admin.connection.status({ provider: "qbo" })).toMatchObject({ status: "VALID" });
    expect(await admin.connection.check({ provider: "qbo" })).toMatchObject({ status: "HEALTHY" });
    expect((await admin.connection.list()).find((c) => c.provider === "quickbooks")?.connected).toBe(true);
    const { items } = await admin.audit.list({ connectionType: "qbo", limit: 200 });
    expect(items.map((i) => `${i.action}:${i.outcome}`)).toEqual(expect.arrayContaining(["CONNECT:SUCCESS", "CHECK:SUCCESS"]));
    expect(new Set(items.map((i) => i.connectionType))).toEqual(new Set(["quickbooks"]));
    expect(await admin.connection.disconnect({ provider: "qbo" })).toEqual({ disconnected: true });
    expect(await codeOf(admin.connection.check({ provider: "quickbooks" }))).toBe("NOT_FOUND");
  });


  it("refuses a member's OAuth callback without spending the state; the admin's completes", async () => {
    const { url } = await (await h.api(alice)).connection.connect({ provider: "quickbooks" });
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    const byMember = await oauthCallback(h.deps(bob), new Request(location), "quickbooks");
    expect([byMember.status, byMember.headers.get("location")]).toEqual([303, "/connections?error=ADMIN_ONLY"]);
    expect((await (await h.api(bob)).connection.list()).find((c) => c.provider === "quickbooks")?.connected).toBe(false);
    const byAdmin = await oauthCallback(h.deps(alice), new Request(location), "quickbooks");
    expect(byAdmin.headers.get("location")).toBe("/connections?connected=quickbooks");
    expect(await (await h.api(alice)).connection.disconnect({ provider: "quickbooks" })).toEqual({ disconnected: true });
  });

  it("sends the callback back with a code, never a message", async () => {
    const callback = (caller: Caller | null, provider: string) =>
      oauthCallback(h.deps(caller), new Request(`http://127.0.0.1:3999/api/oauth/${provider}/callback?state=forged&code=x`), provider).then((r) => r.headers.get("location"));
    expect(await callback(null, "quickbooks")).toBe("/sign-in?error=SESSION_ENDED");
    expect(await callback(alice, "quickbooks")).toBe("/connections?error=INVALID_STATE");
    expect(await callback(alice, "sage")).toBe("/connections?error=UNKNOWN_PROVIDER");
    expect(await callback(alice, "..")).toBe("/connections?error=UNKNOWN_PROVIDER");
  });

  it("answers route handler errors as the procedures do: same codes, statuses and messages", async () => {
    const request = new Request("http://127.0.0.1:3999/api/audit/export");
    const answer = async (caller: Caller | null, handle: () => Promise<Response>) => {
      const response = await jsonRoute(h.deps(caller), request, "admin", handle);
      return { status: response.status, body: (await response.json()) as unknown };
    };
    const ok = () => Promise.resolve(Response.json({ ok: true }));
    expect(await answer(null, ok)).toEqual({ status: 401, body: { error: { code: "UNAUTHORIZED", message: "Sign in to continue." } } });
    expect(await answer(bob, ok)).toEqual({ status: 403, body: { error: { code: "FORBIDDEN", message: "Only administrators can do this." } } });
    expect(await answer(alice, ok)).toEqual({ status: 200, body: { ok: true } });
    // A body declared over the limit (64 KB unless MAX_REQUEST_BODY_BYTES says otherwise) is refused unread.
    const oversized = await jsonRoute(h.deps(alice), new Request(request.url, { headers: { "content-length": String(64 * 1024 + 1) } }), "admin", ok);
    expect({ status: oversized.status, body: (await oversized.json()) as unknown }).toEqual({
      status: 413,
      body: { error: { code: "PAYLOAD_TOO_LARGE", message: "The request is too large." } },
    });
    expect(await answer(alice, () => Promise.resolve(parseInput(auditFilters, { userId: "x".repeat(500) })).then(ok))).toMatchObject({
      status: 400,
      body: { error: { code: "BAD_REQUEST", message: "Invalid input.", fieldErrors: [{ path: "userId" }] } },
    });
    expect(await answer(alice, () => Promise.reject(new TokenError("NO_TOKEN", "This provider is not connected.")))).toEqual({
      status: 404,
      body: { error: { code: "NOT_FOUND", message: "This provider is not connected.", tokenErrorCode: "NO_TOKEN" } },
    });
    // The database out of reach, raised by a route's own query (not through the token service): the same 503 as the service's VAULT_UNAVAILABLE.
    const unreachable = Object.assign(new Error("Can't reach database server at h.db.internal:5432"), { code: "P1001" });
    expect(await answer(alice, () => Promise.reject(unreachable))).toEqual({
      status: 503,
      body: { error: { code: "SERVICE_UNAVAILABLE", message: "The token database is not answering. Try again shortly.", tokenErrorCode: "VAULT_UNAVAILABLE" } },
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(await answer(alice, () => Promise.reject(new Error("connection string postgres://secret")))).toEqual({
      status: 500,
      body: { error: { code: "INTERNAL_SERVER_ERROR", message: "Something went wrong. Try again." } },
    });
    expect(logged).toHaveBeenCalledOnce();
    logged.mockRestore();
  });
  it("shows a connection's call budgets as the shared limits count them, to members too, never another company's", async () => {
    const erin: Caller = { userId: "erin", companyId: "hooli", role: "admin", name: "Erin" };
    const { url } = await (await h.api(erin)).connection.connect({ provider: "xero" });
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await h.service.handleCallback({ provider: "xero", callbackUrl: location, companyId: "hooli", context: { userId: "erin" } });
    const member = await h.api({ ...erin, userId: "frank", role: "member" });
    expect((await member.connection.budgets({ provider: "xero" })).map((b) => b.used)).toEqual([0, 0]);
    for (let i = 0; i < 3; i++) await h.service.fetch({ companyId: "hooli", provider: "xero" }, "Organisation");
    expect(await member.connection.budgets({ provider: "xero" })).toEqual([
      { name: "minute", windowMs: 60_000, limit: 60, used: 3 },
      { name: "day", windowMs: 86_400_000, limit: 5_000, used: 3 },
    ]);
    const [hooliXero] = (await member.connection.list()).filter((c) => c.provider === "xero");
    expect(await codeOf((await h.api(carol)).connection.budgets({ provider: "xero", connectionId: hooliXero!.connectionId! }))).toBe("NOT_FOUND");
  });

  it("names one of several connections of a provider by id; without it an action is refused as ambiguous", async () => {
    const dan: Caller = { userId: "dan", companyId: "initech", role: "admin", name: "Dan" };
    const admin = await h.api(dan);
    // One Xero consent granting two organisations: two connections sharing one grant.
    await h.sim.updateSettings({ xeroTenantsPerAuthorization: 2 });
    try {
      const { url } = await admin.connection.connect({ provider: "xero" });
      const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
      await h.service.handleCallback({ provider: "xero", callbackUrl: location, companyId: "initech", context: { userId: "dan" } });
    } finally {
      await h.sim.updateSettings({ xeroTenantsPerAuthorization: 1 });
    }
    const xero = async () => (await admin.connection.list()).filter((v) => v.provider === "xero" && v.connected).map((v) => v.connectionId!);
    const [first, second] = await xero();
    expect([first, second].every((id) => typeof id === "string")).toBe(true);

    expect(await codeOf(admin.connection.check({ provider: "xero" }))).toBe("CONFLICT");
    expect(await codeOf(admin.connection.disconnect({ provider: "xero" }))).toBe("CONFLICT");
    expect((await admin.connection.check({ provider: "xero", connectionId: first! })).status).toBe("HEALTHY");
    expect((await admin.connection.status({ provider: "xero", connectionId: second! })).status).toBe("VALID");
    // Another company's id names nothing for this caller.
    expect(await codeOf((await h.api(carol)).connection.check({ provider: "xero", connectionId: first! }))).toBe("NOT_FOUND");
    expect(await codeOf((await h.api(carol)).connection.disconnect({ provider: "xero", connectionId: first! }))).toBe("NOT_FOUND");
    expect(await codeOf(admin.connection.check({ provider: "xero", connectionId: "not-a-uuid" }))).toBe("BAD_REQUEST");

    // Disconnecting one leaves the other, which the provider alone now names.
    await admin.connection.disconnect({ provider: "xero", connectionId: second! });
    expect(await xero()).toEqual([first]);
    expect((await admin.connection.status({ provider: "xero" })).status).toBe("VALID");
  });
});
