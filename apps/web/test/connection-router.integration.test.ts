import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "~/server/auth/caller";
import { alice, bob, carol, CLIENT_ADDRESS, startRouterHarness, type RouterHarness } from "./router-harness";
import { codeOf } from "./trpc-code";

// connection.update / disable / enable and list's filters through the server-side caller, with a
// real token service, PostgreSQL and the simulator: admins only, scoped to the caller's company.

describe("the connection router: settings, filters and pause", () => {
  let h: RouterHarness;
  beforeAll(async () => {
    // One organisation per Xero consent: one Xero connection per company, which the seed signatures name.
    h = await startRouterHarness({ database: "connection_router", simulator: { xeroTenantsPerAuthorization: 1 }, oidc: true });
  });
  afterAll(() => h.close());

  async function connectXero(caller: Caller): Promise<string> {
    const { url } = await (await h.api(caller)).connection.connect({ provider: "xero" });
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await h.service.handleCallback({ provider: "xero", callbackUrl: location, companyId: caller.companyId, context: { userId: caller.userId } });
    return (await h.db.prisma.connection.findFirstOrThrow({ where: { companyId: caller.companyId, provider: "xero" } })).id;
  }

  it("lets an admin rename, tag, pause and resume; a member reads them and is refused the changes; another company's id is NOT_FOUND", async () => {
    const connectionId = await connectXero(alice);
    const admin = await h.api(alice);
    const member = await h.api(bob);

    const saved = await admin.connection.update({ connectionId, settings: { name: "Acme NZ", tags: ["Prod", "nz"], metadata: { owner: "finance" } } });
    expect(saved).toMatchObject({ customName: "Acme NZ", tags: ["nz", "prod"], metadata: { owner: "finance" } });
    expect(await codeOf(admin.connection.update({ connectionId, settings: { tags: ["no spaces allowed"] } }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.connection.update({ connectionId, settings: { metadata: { big: "x".repeat(9000) } } }))).toBe("BAD_REQUEST");

    expect(await codeOf(member.connection.disable({ connectionId }))).toBe("FORBIDDEN");
    expect(await codeOf(member.connection.update({ connectionId, settings: { name: "Mine" } }))).toBe("FORBIDDEN");
    expect(await codeOf((await h.api(carol)).connection.disable({ connectionId }))).toBe("NOT_FOUND");
    expect(await codeOf((await h.api(carol)).connection.update({ connectionId, settings: { name: "Mine" } }))).toBe("NOT_FOUND");

    const paused = await admin.connection.disable({ connectionId });
    expect(paused.disabledBy).toBe("alice");
    const seen = (await member.connection.list()).find((v) => v.connectionId === connectionId)!;
    expect(seen).toMatchObject({ disabled: true, name: "Acme NZ", tags: ["nz", "prod"] });
    expect(seen.idleExpiryIfPaused).toBeInstanceOf(Date);
    // The one mapping: CONNECTION_DISABLED is CONFLICT through tRPC.
    expect(await codeOf(member.connection.check({ provider: "xero", connectionId }))).toBe("CONFLICT");
    expect(await codeOf(admin.connection.refresh({ provider: "xero", connectionId }))).toBe("CONFLICT");
    await admin.connection.enable({ connectionId });
    expect((await member.connection.check({ provider: "xero", connectionId })).status).toBe("HEALTHY");

    const actions = await h.db.prisma.auditLog.findMany({ where: { companyId: "acme", action: { in: ["UPDATE", "DISABLE", "ENABLE"] } }, orderBy: { timestamp: "asc" } });
    expect(actions.map((a) => [a.action, a.userId, a.ipAddress])).toEqual([
      ["UPDATE", "alice", CLIENT_ADDRESS],
      ["DISABLE", "alice", CLIENT_ADDRESS],
      ["ENABLE", "alice", CLIENT_ADDRESS],
    ]);
    // Refused changes left nothing behind.
    expect((await member.connection.list()).find((v) => v.connectionId === connectionId)).toMatchObject({ customName: "Acme NZ", disabled: false });
  });

  it("connects with extra scopes an admin chose: offered by provider.list, checked (BAD_REQUEST, no state), recorded on the connection", async () => {
    const erin: Caller = { userId: "erin", companyId: "umbrella", role: "admin", name: "Erin" };
    const admin = await h.api(erin);
    const xero = (await admin.provider.list()).find((p) => p.id === "xero")!;
    expect(xero.optionalScopes).toContain("accounting.contacts");

    const states = () => h.db.prisma.oAuthState.count({ where: { companyId: "umbrella" } });
    expect(await codeOf(admin.connection.connect({ provider: "xero", scopes: ["accounting.everything"] }))).toBe("BAD_REQUEST");
    const named = await admin.connection.connect({ provider: "xero", scopes: ["accounting.everything"] }).then(() => null, (e: unknown) => e as Error);
    expect(named?.message).toContain('"accounting.everything"');
    expect(await codeOf(admin.connection.connect({ provider: "xero", scopes: ["two words"] }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.connection.connect({ provider: "xero", scopes: Array.from({ length: 21 }, () => "files") }))).toBe("BAD_REQUEST");
    expect(await codeOf(admin.connection.connect({ provider: "acme-idp", scopes: ["email"] }))).toBe("BAD_REQUEST");
    expect(await codeOf((await h.api({ ...erin, userId: "frank", role: "member" })).connection.connect({ provider: "xero", scopes: ["files"] }))).toBe("FORBIDDEN");
    expect(await states()).toBe(0);

    const { url } = await admin.connection.connect({ provider: "xero", scopes: ["accounting.contacts"] });
    expect(new URL(url).searchParams.get("scope")).toBe([...xero.scopes, "accounting.contacts"].join(" "));
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await h.service.handleCallback({ provider: "xero", callbackUrl: location, companyId: "umbrella", context: { userId: "erin" } });
    const view = (await admin.connection.list()).find((v) => v.provider === "xero" && v.connected)!;
    expect(view.requestedScopes).toEqual([...xero.scopes, "accounting.contacts"]);
    expect(view.grantedScopes).toEqual(view.requestedScopes);
  });

  it("filters the list by tag and metadata; a malformed filter is BAD_REQUEST", async () => {
    const dan: Caller = { userId: "dan", companyId: "initech", role: "admin", name: "Dan" };
    const connectionId = await connectXero(dan);
    const admin = await h.api(dan);
    await admin.connection.update({ connectionId, settings: { tags: ["eu"], metadata: { region: "eu" } } });
    expect((await admin.connection.list({ tags: ["eu"] })).map((v) => v.connectionId)).toEqual([connectionId]);
    expect((await admin.connection.list({ metadata: { region: "eu" } })).map((v) => v.connectionId)).toEqual([connectionId]);
    expect(await admin.connection.list({ tags: ["us"] })).toEqual([]);
    // No input (null from a plain HTTP client): every connection, and the placeholders.
    expect((await admin.connection.list(null)).map((v) => v.provider).sort()).toEqual(["acme-idp", "quickbooks", "xero"]);
    expect(await codeOf(admin.connection.list({ tags: ["bad tag"] }))).toBe("BAD_REQUEST");
  });
});
