import OAuthClient from "intuit-oauth";
import { XeroClient } from "xero-node";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../src/logger";
import { TokenService } from "../src/token-service";
import { TokenError } from "@tokenvault/vault";
import { useHarness, REDIRECT, registryFor, TEST_OPTIONS, type Harness } from "./harness";

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

async function grantOf(companyId: string, provider: "quickbooks" | "xero") {
  const connection = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId, provider } });
  const { externalId } = await h.db.prisma.connection.findFirstOrThrow({ where: { grantId: connection.id } });
  const grants = await h.sim.listGrants(provider === "quickbooks" ? { realmId: externalId } : { tenantId: externalId });
  const active = grants.find((g) => g.status === "active") ?? grants[0];
  if (!active) throw new Error("no grant at the simulator");
  return active;
}

async function auditRows(companyId: string) {
  return h.db.prisma.auditLog.findMany({ where: { companyId }, orderBy: { timestamp: "asc" } });
}

async function expectTokenError(promise: Promise<unknown>, code: string): Promise<TokenError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected TokenError ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  expect((error as TokenError).code).toBe(code);
  return error as TokenError;
}

/** Polls `condition` until it holds (the test's own timeout bounds it). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("connect", () => {
  it("connects QuickBooks through consent and callback: realmId, encrypted tokens, health, audit", async () => {
    await h.connect(service, company, "quickbooks");
    const token = await service.getValidToken(company, "quickbooks", "alice");
    expect(token.externalId).toMatch(/\S+/);
    expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    const secrets = await h.db.prisma.tokenSecret.findMany({ where: { companyId: company } });
    expect(secrets.map((s) => s.kind).sort()).toEqual(["ACCESS_TOKEN", "REFRESH_TOKEN"]);
    for (const s of secrets) expect(s.ciphertext).toMatch(/^tv1\./);
    expect(JSON.stringify(secrets)).not.toContain(token.accessToken);
    expect(await service.listConnectionHealth(company)).toMatchObject([{ connectionType: "quickbooks", status: "HEALTHY" }]);
    const audit = await auditRows(company);
    expect(audit.map((a) => [a.action, a.outcome])).toContainEqual(["CONNECT", "SUCCESS"]);
    expect(JSON.stringify(audit)).not.toContain(token.accessToken);
  });

  it("connects Xero with PKCE: one connection per organisation granted, each serving its own and recording every tenant of the authorization", async () => {
    await h.sim.updateSettings({ xeroTenantsPerAuthorization: 2 });
    try {
      await h.connect(service, company, "xero");
    } finally {
      await h.sim.updateSettings({ xeroTenantsPerAuthorization: 1 });
    }
    const connections = (await service.listConnections(company)).filter((c) => c.provider === "xero");
    expect(connections).toHaveLength(2);
    const grant = await grantOf(company, "xero");
    for (const connection of connections) {
      const token = await service.getValidToken({ connectionId: connection.connectionId! }, { userId: "alice" });
      expect(token.tenants).toHaveLength(2);
      expect(token.externalId).toBe(connection.externalId);
      expect(token.connectionId).toBe(connection.connectionId);
      expect(grant.tenants.map((t) => t.tenantId).sort()).toEqual(token.tenants.map((t) => t.id).sort());
      expect(connection.name).toBe(grant.tenants.find((t) => t.tenantId === connection.externalId)?.tenantName);
    }
  });

  it("refuses a missing, unknown, reused or foreign state and a second use of a code", async () => {
    const callback = await h.connect(service, company, "quickbooks");
    // Reused: the same redirect again.
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: callback, companyId: company, context: { userId: "alice" } }), "INVALID_STATE");
    // Missing and unknown.
    const noState = new URL(callback);
    noState.searchParams.delete("state");
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: noState.toString(), companyId: company, context: { userId: "alice" } }), "INVALID_STATE");
    const unknown = new URL(callback);
    unknown.searchParams.set("state", "forged-state");
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: unknown.toString(), companyId: company, context: { userId: "alice" } }), "INVALID_STATE");

    // Foreign: a state issued to another user, company or provider.
    const { url } = await service.getAuthorizationUrl({ companyId: company, provider: "quickbooks", userId: "alice", redirectUri: REDIRECT("quickbooks") });
    const redirect = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: redirect, companyId: company, context: { userId: "mallory" } }), "INVALID_STATE");
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: redirect, companyId: "other-co", context: { userId: "alice" } }), "INVALID_STATE");
    await expectTokenError(service.handleCallback({ provider: "xero", callbackUrl: redirect, companyId: company, context: { userId: "alice" } }), "INVALID_STATE");

    // The same code under a fresh, valid state: refused before it reaches the provider.
    const second = await service.getAuthorizationUrl({ companyId: company, provider: "quickbooks", userId: "alice", redirectUri: REDIRECT("quickbooks") });
    const replay = new URL(callback);
    replay.searchParams.set("state", new URL(second.url).searchParams.get("state")!);
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: replay.toString(), companyId: company, context: { userId: "alice" } }), "INVALID_STATE");
    // The legitimate pending flow still completes.
    await service.handleCallback({ provider: "quickbooks", callbackUrl: redirect, companyId: company, context: { userId: "alice" } });
  });

  it("refuses an expired state", async () => {
    const { url } = await service.getAuthorizationUrl({ companyId: company, provider: "quickbooks", userId: "alice", redirectUri: REDIRECT("quickbooks") });
    const redirect = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await h.db.prisma.oAuthState.updateMany({ where: { companyId: company }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: redirect, companyId: company, context: { userId: "alice" } }), "INVALID_STATE");
  });

  it("reports a denied consent as AUTHORIZATION_DENIED and audits it", async () => {
    const { url } = await service.getAuthorizationUrl({ companyId: company, provider: "quickbooks", userId: "alice", redirectUri: REDIRECT("quickbooks") });
    const denied = new URL(REDIRECT("quickbooks"));
    denied.searchParams.set("error", "access_denied");
    denied.searchParams.set("state", new URL(url).searchParams.get("state")!);
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: denied.toString(), companyId: company, context: { userId: "alice" } }), "AUTHORIZATION_DENIED");
    expect((await auditRows(company)).map((a) => [a.action, a.outcome])).toEqual([["CONNECT", "FAILURE"]]);
  });

  it("revokes the new grant instead of orphaning it when Xero's tenant list cannot be read", async () => {
    const earlier = new Set((await h.sim.listGrants({ provider: "xero" })).map((g) => g.id));
    await h.sim.addFault({ kind: "error", provider: "xero", endpoint: "api", status: 503 });
    await expectTokenError(h.connect(service, company, "xero"), "PROVIDER_UNAVAILABLE");
    await h.sim.clearFaults();
    const grants = (await h.sim.listGrants({ provider: "xero" })).filter((g) => !earlier.has(g.id));
    expect(grants.map((g) => g.status)).toEqual(["revoked"]);
    expect(await h.db.prisma.connection.count({ where: { companyId: company } })).toBe(0);
    expect((await auditRows(company)).map((a) => [a.action, a.outcome])).toEqual([["CONNECT", "FAILURE"]]);
  });

  it("refuses a realmId that is not an id, before any code is exchanged", async () => {
    const { url } = await service.getAuthorizationUrl({ companyId: company, provider: "quickbooks", userId: "alice", redirectUri: REDIRECT("quickbooks") });
    const redirect = new URL((await fetch(url, { redirect: "manual" })).headers.get("location")!);
    redirect.searchParams.set("realmId", "../../admin?x=1");
    const before = (await h.sim.stats()).totals.tokenEndpointCalls;
    await expectTokenError(service.handleCallback({ provider: "quickbooks", callbackUrl: redirect.toString(), companyId: company, context: { userId: "alice" } }), "INVALID_INPUT");
    expect((await h.sim.stats()).totals.tokenEndpointCalls).toBe(before);
  });

  it("rejects bad input with typed errors and changes nothing", async () => {
    await expectTokenError(service.getAuthorizationUrl({ companyId: "", provider: "quickbooks", userId: "alice", redirectUri: REDIRECT("quickbooks") }), "INVALID_INPUT");
    await expectTokenError(service.getAuthorizationUrl({ companyId: company, provider: "sage", userId: "alice", redirectUri: REDIRECT("sage") }), "UNKNOWN_PROVIDER");
    await expectTokenError(service.getAuthorizationUrl({ companyId: company, provider: "quickbooks", userId: "alice", redirectUri: "not a url" }), "INVALID_INPUT");
    await expectTokenError(service.getValidToken(company, "quickbooks", "alice"), "NO_TOKEN");
    expect(await h.db.prisma.oAuthState.count({ where: { companyId: company } })).toBe(0);
  });
});

describe("getValidToken and refresh", () => {
  it("returns the stored token while it is valid, without calling the provider", async () => {
    await h.connect(service, company, "quickbooks");
    const before = (await h.sim.stats()).totals.tokenEndpointCalls;
    const a = await service.getValidToken(company, "quickbooks", "alice");
    const b = await service.getValidToken(company, "quickbooks", "bob");
    expect(a.accessToken).toBe(b.accessToken);
    expect((await h.sim.stats()).totals.tokenEndpointCalls).toBe(before);
  });

  it("leases by PostgreSQL's clock: a process whose clock runs a minute ahead cannot take a live lease", async () => {
    await h.connect(service, company, "quickbooks");
    await h.expire(company, "quickbooks");
    const ahead = new TokenService({
      prisma: h.db.prisma,
      vault: h.vault,
      providers: registryFor(h.sim.url),
      logger: silentLogger,
      options: TEST_OPTIONS, // a 10 s lease: a minute ahead, this process would see it long expired
      clock: { now: () => new Date(Date.now() + 60_000) },
    });
    const calls = async () => (await h.sim.stats()).totals.tokenEndpointCalls;
    const before = await calls();
    await h.sim.addFault({ kind: "latency", provider: "intuit", latencyMs: 800, count: 1 });
    const [holder, other] = await Promise.all([
      service.getValidToken(company, "quickbooks", "alice"),
      new Promise((resolve) => setTimeout(resolve, 200)).then(() => ahead.getValidToken(company, "quickbooks", "bob")),
    ]);
    expect(other.accessToken).toBe(holder.accessToken);
    expect(await calls()).toBe(before + 1);
    await ahead.close();
  });

  it("refreshes once per expiry even when the margin is longer than the token's lifetime", async () => {
    // Xero's access tokens live 30 minutes; a 31-minute margin must not make every call refresh.
    const longMargin = h.service({ refreshMarginMs: 31 * 60_000 });
    await h.connect(longMargin, company, "xero");
    const calls = async () => (await h.sim.stats()).totals.tokenEndpointCalls;
    const before = await calls();
    for (let i = 0; i < 3; i++) await longMargin.getValidToken(company, "xero", "alice");
    expect(await calls()).toBe(before);
    await h.expireSoon(company, "xero");
    for (let i = 0; i < 3; i++) await longMargin.getValidToken(company, "xero", "alice");
    await longMargin.idle(); // inside the margin the refresh runs behind the callers
    expect(await calls()).toBe(before + 1);
  });

  it("inside the margin, callers get the still-valid token at once while one refresh runs behind them (a slow provider holds nobody up)", async () => {
    await h.connect(service, company, "xero");
    const first = await service.getValidToken(company, "xero", "alice");
    const grant = await grantOf(company, "xero");
    await h.expireSoon(company, "xero");
    // The provider stalls this refresh for ten minutes (the service's provider timeout ends it,
    // then it retries): a caller that waited for the refresh would be held up.
    const faultsBefore = (await h.sim.stats()).totals.faultsInjected;
    await h.sim.addFault({ kind: "latency", provider: "xero", latencyMs: 600_000, count: 1 });
    const results = await Promise.all(Array.from({ length: 20 }, () => service.getValidToken(company, "xero", "alice")));
    expect(new Set(results.map((r) => r.accessToken))).toEqual(new Set([first.accessToken]));
    // The one refresh reached the provider and is stalled there; the callers already hold their token.
    await until(async () => (await h.sim.stats()).totals.faultsInjected > faultsBefore);
    expect((await h.sim.getGrant(grant.id))?.counters.refreshSuccess).toBe(0);
    expect((await service.getValidToken(company, "xero", "bob")).accessToken).toBe(first.accessToken);
    await service.idle();
    expect((await h.sim.getGrant(grant.id))?.counters).toEqual({ refreshSuccess: 1, refreshFailed: 0, invalidGrant: 0 });
    const next = await service.getValidToken(company, "xero", "alice");
    expect(next.accessToken).not.toBe(first.accessToken);
    const refreshes = (await auditRows(company)).filter((a) => a.action === "REFRESH");
    expect(refreshes.map((r) => [r.outcome, r.userId])).toEqual([["SUCCESS", "alice"]]);
  });

  it("a failed background refresh is audited and logged, never thrown, and the valid token keeps being served", async () => {
    const warnings: string[] = [];
    const logged = h.service({}, { info: () => {}, warn: (message) => warnings.push(message), error: () => {} });
    await h.connect(logged, company, "quickbooks");
    const first = await logged.getValidToken(company, "quickbooks", "alice");
    await h.sim.addFault({ kind: "error", provider: "intuit", status: 502 });
    await h.expireSoon(company, "quickbooks");
    expect((await logged.getValidToken(company, "quickbooks", "alice")).accessToken).toBe(first.accessToken);
    await logged.idle();
    expect(warnings).toContain("background refresh failed");
    expect((await auditRows(company)).filter((a) => a.action === "REFRESH").map((a) => a.outcome)).toEqual(["FAILURE"]);
    expect((await logged.getValidToken(company, "quickbooks", "alice")).accessToken).toBe(first.accessToken);
  });

  it("refreshes once for an expired token, shared by 50 concurrent callers who wait for it, and audits it with the token write", async () => {
    await h.connect(service, company, "xero");
    const first = await service.getValidToken(company, "xero", "alice");
    await h.expire(company, "xero");
    const grant = await grantOf(company, "xero");
    const results = await Promise.all(Array.from({ length: 50 }, () => service.getValidToken(company, "xero", "alice")));
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(results[0]!.accessToken).not.toBe(first.accessToken);
    const after = await h.sim.getGrant(grant.id);
    expect(after?.counters).toEqual({ refreshSuccess: 1, refreshFailed: 0, invalidGrant: 0 });
    const refreshes = (await auditRows(company)).filter((a) => a.action === "REFRESH");
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]).toMatchObject({ outcome: "SUCCESS", details: { forced: false, refreshTokenRotated: true } });
    // Xero rotates: the previous refresh token is kept, encrypted, for the grace window.
    const previous = await h.db.prisma.tokenSecret.findFirst({ where: { companyId: company, kind: "PREVIOUS_REFRESH_TOKEN" } });
    expect(previous?.ciphertext).toMatch(/^tv1\./);
  });

  it("forces a refresh after a provider 401", async () => {
    await h.connect(service, company, "quickbooks");
    const first = await service.getValidToken(company, "quickbooks", "alice");
    const forced = await service.getValidToken(company, "quickbooks", "alice", { forceRefresh: true });
    expect(forced.accessToken).not.toBe(first.accessToken);
    const rows = (await auditRows(company)).filter((a) => a.action === "REFRESH");
    expect(rows[0]).toMatchObject({ outcome: "SUCCESS", userId: "alice", details: { forced: true } });
  });

  it("keeps the QuickBooks refresh token until it changes (about daily) and stores the new one when it does", async () => {
    await h.connect(service, company, "quickbooks");
    await h.expire(company, "quickbooks");
    await service.getValidToken(company, "quickbooks", "alice");
    let rows = (await auditRows(company)).filter((a) => a.action === "REFRESH");
    expect(rows.at(-1)?.details).toMatchObject({ refreshTokenRotated: false });
    await h.sim.advanceClock(25 * 3600 * 1000);
    await h.expire(company, "quickbooks");
    await service.getValidToken(company, "quickbooks", "alice");
    rows = (await auditRows(company)).filter((a) => a.action === "REFRESH");
    expect(rows.at(-1)?.details).toMatchObject({ refreshTokenRotated: true });
    // The stored (new) refresh token works for the next refresh.
    await h.expire(company, "quickbooks");
    await service.getValidToken(company, "quickbooks", "alice");
    expect((await grantOf(company, "quickbooks")).counters.invalidGrant).toBe(0);
  });

  it("marks the connection expired on invalid_grant, with no retry loop", async () => {
    await h.connect(service, company, "quickbooks");
    const grant = await grantOf(company, "quickbooks");
    await h.sim.revokeGrant(grant.id);
    await h.expire(company, "quickbooks");
    await expectTokenError(service.getValidToken(company, "quickbooks", "alice"), "REAUTH_REQUIRED");
    expect((await h.sim.getGrant(grant.id))?.counters.invalidGrant).toBe(1);
    // Later callers are told at once; the provider is not asked again.
    await expectTokenError(service.getValidToken(company, "quickbooks", "alice"), "REAUTH_REQUIRED");
    expect((await h.sim.getGrant(grant.id))?.counters.invalidGrant).toBe(1);
    expect(await service.getTokenStatus(company, "quickbooks")).toMatchObject({ status: "EXPIRED" });
    expect(await service.listConnectionHealth(company)).toMatchObject([{ status: "EXPIRED" }]);
    const failure = (await auditRows(company)).find((a) => a.action === "REFRESH");
    expect(failure).toMatchObject({ outcome: "FAILURE", responseStatus: 400, details: { reason: "invalid_grant" } });
  });

  it("retries 5xx and 429 (honouring Retry-After) and succeeds", async () => {
    await h.connect(service, company, "quickbooks");
    await h.sim.addFault({ kind: "error", provider: "intuit", status: 503, count: 1 });
    await h.sim.addFault({ kind: "rate_limit", provider: "intuit", retryAfterSeconds: 1, count: 1 });
    await h.expire(company, "quickbooks");
    const started = Date.now();
    await service.getValidToken(company, "quickbooks", "alice");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // waited for Retry-After
    expect((await auditRows(company)).filter((a) => a.action === "REFRESH").map((a) => a.outcome)).toEqual(["SUCCESS"]);
    expect(await service.listConnectionHealth(company)).toMatchObject([{ status: "HEALTHY" }]);
  });

  it("gives up after bounded retries: unhealthy, cooldown, and a still-valid token keeps working", async () => {
    await h.connect(service, company, "quickbooks");
    const grant = await grantOf(company, "quickbooks");
    await h.sim.addFault({ kind: "error", provider: "intuit", status: 502 });
    await h.expireSoon(company, "quickbooks", -1000); // already expired: nothing to fall back on
    const calls = (await h.sim.stats()).totals.tokenEndpointCalls;
    await expectTokenError(service.getValidToken(company, "quickbooks", "alice"), "PROVIDER_UNAVAILABLE");
    expect((await h.sim.stats()).totals.tokenEndpointCalls - calls).toBe(3);
    expect(await service.listConnectionHealth(company)).toMatchObject([{ status: "UNHEALTHY" }]);
    expect(await service.getTokenStatus(company, "quickbooks")).toMatchObject({ status: "ERROR" });
    // Cooldown: the next call does not reach the provider.
    await expectTokenError(service.getValidToken(company, "quickbooks", "alice"), "PROVIDER_UNAVAILABLE");
    expect((await h.sim.stats()).totals.tokenEndpointCalls - calls).toBe(3);
    // A token still valid (inside the margin only) is served during the cooldown.
    await h.expireSoon(company, "quickbooks", 60_000);
    await expect(service.getValidToken(company, "quickbooks", "alice")).resolves.toMatchObject({ tokenType: "Bearer" });
    expect((await h.sim.getGrant(grant.id))?.counters.invalidGrant).toBe(0);
  });

  it("times out a provider call that hangs", async () => {
    const quick = h.service({ providerTimeoutMs: 300, retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } });
    await h.connect(quick, company, "quickbooks");
    await h.sim.addFault({ kind: "latency", provider: "intuit", latencyMs: 1500, count: 1 });
    await h.expireSoon(company, "quickbooks", -1000);
    const started = Date.now();
    await expectTokenError(quick.getValidToken(company, "quickbooks", "alice"), "PROVIDER_UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(1400);
    const row = (await auditRows(company)).find((a) => a.action === "REFRESH");
    expect(row?.details).toMatchObject({ reason: "timeout" });
  });

  it("survives a lost response: the retry uses the same refresh token inside Xero's grace window", async () => {
    await h.connect(service, company, "xero");
    const grant = await grantOf(company, "xero");
    await h.sim.addFault({ kind: "drop", provider: "xero", count: 1 });
    await h.expire(company, "xero");
    const token = await service.getValidToken(company, "xero", "alice");
    expect((await h.sim.stats()).totals.droppedResponses).toBeGreaterThanOrEqual(1);
    const after = await h.sim.getGrant(grant.id);
    expect(after?.status).toBe("active");
    expect(after?.counters.invalidGrant).toBe(0);
    // The stored refresh token is the grant's current one: the next refresh works.
    await h.expire(company, "xero");
    const next = await service.getValidToken(company, "xero", "alice");
    expect(next.accessToken).not.toBe(token.accessToken);
    expect((await h.sim.getGrant(grant.id))?.status).toBe("active");
  });

  it("a heartbeat keeps a short lease while a slow provider call is in flight: nobody takes it over", async () => {
    const holder = h.service({ leaseMs: 300, providerTimeoutMs: 3_000, retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } });
    const other = h.service({ leaseMs: 300 });
    await h.connect(other, company, "xero");
    const grant = await grantOf(company, "xero");
    await h.expire(company, "xero");
    await h.sim.addFault({ kind: "latency", provider: "xero", latencyMs: 1_200, count: 1 });
    const held = holder.getValidToken(company, "xero", "alice");
    const connection = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company, provider: "xero" } });
    await until(async () => (await h.db.prisma.oAuthGrant.findUniqueOrThrow({ where: { id: connection.id } })).leaseOwner !== null);
    const waited = await other.getValidToken(company, "xero", "bob"); // four lease lengths pass while it waits
    expect(waited.accessToken).toBe((await held).accessToken);
    expect((await h.sim.getGrant(grant.id))?.counters).toEqual({ refreshSuccess: 1, refreshFailed: 0, invalidGrant: 0 });
    expect((await auditRows(company)).filter((a) => a.action === "REFRESH").map((a) => [a.outcome, a.userId])).toEqual([["SUCCESS", "alice"]]);
  });

  it("fences a stale lease holder: its late write is refused and it uses the winner's token", async () => {
    // A holder that stalls (a paused process: its heartbeat does not run) while its lease lapses.
    const slow = h.service({ leaseMs: 300, leaseHeartbeatMs: 60_000, providerTimeoutMs: 3_000, retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } });
    const fast = h.service({ leaseMs: 10_000 });
    // By connection id, the two holders reading two connections of one grant (one consent, two organisations).
    await h.pinOrganisations(2);
    await h.connect(fast, company, "xero");
    const [first, second] = (await fast.listConnections(company)).filter((v) => v.provider === "xero").map((v) => v.connectionId!);
    const grant = await grantOf(company, "xero");
    await h.expire(company, "xero");
    await h.sim.addFault({ kind: "latency", provider: "xero", latencyMs: 1_200, count: 1 });
    const slowResult = slow.getValidToken({ connectionId: first! }, { userId: "alice" });
    await new Promise((r) => setTimeout(r, 600)); // the slow holder's lease has expired
    const fastResult = await fast.getValidToken({ connectionId: second! }, { userId: "bob" });
    const late = await slowResult;
    expect(late.accessToken).toBe(fastResult.accessToken);
    const stored = await fast.getValidToken({ connectionId: first! }, { userId: "carol" });
    expect(stored.accessToken).toBe(fastResult.accessToken);
    const refreshes = (await auditRows(company)).filter((a) => a.action === "REFRESH");
    expect(refreshes.map((r) => r.outcome)).toEqual(["SUCCESS"]);
    const after = await h.sim.getGrant(grant.id);
    expect(after?.status).toBe("active");
    expect(after?.counters.refreshSuccess).toBe(2); // both reached Xero; only one set was stored
    // The stored set is the grant's current one.
    await h.expire(company, "xero");
    await fast.getValidToken({ connectionId: second! }, { userId: "alice" });
    expect((await h.sim.getGrant(grant.id))?.counters.invalidGrant).toBe(0);
  });
});

describe("isolation and SDK clients", () => {
  it("two companies never see each other's tokens", async () => {
    const other = `${company}-b`;
    await h.connect(service, company, "quickbooks");
    await h.connect(service, other, "quickbooks");
    const a = await service.getValidToken(company, "quickbooks", "alice");
    const b = await service.getValidToken(other, "quickbooks", "alice");
    expect(a.accessToken).not.toBe(b.accessToken);
    expect(a.externalId).not.toBe(b.externalId);
    // A ciphertext moved to the other company's row does not open.
    const aRow = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: company, kind: "ACCESS_TOKEN" } });
    const bRow = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: other, kind: "ACCESS_TOKEN" } });
    await h.db.prisma.tokenSecret.update({ where: { id: bRow.id }, data: { ciphertext: aRow.ciphertext } });
    await expectTokenError(service.getValidToken(other, "quickbooks", "alice"), "DECRYPTION_FAILED");
  });

  it("returns a fresh, working SDK instance per call, each holding only its company's token", async () => {
    const other = `${company}-b`;
    await h.connect(service, company, "quickbooks");
    await h.connect(service, other, "quickbooks");
    const a = await service.getOAuthClient(company, "quickbooks");
    const a2 = await service.getOAuthClient(company, "quickbooks");
    const b = await service.getOAuthClient(other, "quickbooks");
    expect(a).toBeInstanceOf(OAuthClient);
    expect(a).not.toBe(a2);
    expect(a.getToken().access_token).toBe((await service.getValidToken(company, "quickbooks", "x")).accessToken);
    expect(b.getToken().access_token).toBe((await service.getValidToken(other, "quickbooks", "x")).accessToken);
    expect(a.getToken().realmId).not.toBe(b.getToken().realmId);
    // The SDK holds the whole current token set (refreshing through it would bypass the fence: documented, not done).
    expect(a.getToken().refresh_token).not.toBe("");
    expect(await h.sim.listGrants({ provider: "intuit", token: a.getToken().refresh_token })).toHaveLength(1);
    // The SDK instance works against the provider (the simulator) with its token.
    const realmId = a.getToken().realmId;
    const response = await a.makeApiCall({ url: `${h.sim.url}/intuit/v3/company/${realmId}/companyinfo/${realmId}` });
    expect(response.status).toBe(200);

    await h.connect(service, company, "xero");
    const x1 = await service.getOAuthClient(company, "xero");
    const x2 = await service.getOAuthClient(company, "xero");
    expect(x1).toBeInstanceOf(XeroClient);
    expect(x1).not.toBe(x2);
    expect(x1.readTokenSet().access_token).toBe((await service.getValidToken(company, "xero", "x")).accessToken);
    expect(await h.sim.listGrants({ provider: "xero", token: x1.readTokenSet().refresh_token! })).toHaveLength(1);
  });
});

describe("check, status and disconnect", () => {
  it("checks live: healthy, then expired after the provider revoked the grant", async () => {
    // Two live checks in a row: no coalescing window (check-coalescing.integration.test.ts covers it).
    const service = h.service({ checkCoalesceMs: 0 });
    await h.connect(service, company, "quickbooks");
    expect(await service.checkConnection(company, "quickbooks", { userId: "alice", ipAddress: "203.0.113.9", userAgent: "vitest" })).toMatchObject({ status: "HEALTHY", errorMessage: null });
    await h.sim.revokeGrant((await grantOf(company, "quickbooks")).id);
    const checked = await service.checkConnection(company, "quickbooks", { userId: "alice" });
    expect(checked.status).toBe("EXPIRED");
    expect(checked.errorMessage).toMatch(/Reconnect QuickBooks Online/);
    expect(await service.getTokenStatus(company, "quickbooks")).toMatchObject({ status: "EXPIRED" });
    const checks = (await auditRows(company)).filter((a) => a.action === "CHECK");
    expect(checks.map((c) => c.outcome)).toEqual(["SUCCESS", "FAILURE"]);
    expect(checks[0]).toMatchObject({ ipAddress: "203.0.113.9", userAgent: "vitest", responseStatus: 200 });
    // Reconnecting restores it (the simulator's consent picks a new QuickBooks company: a connection of its own, named by its realm).
    const realmId = new URL(await h.connect(service, company, "quickbooks")).searchParams.get("realmId")!;
    expect(await service.checkConnection({ companyId: company, provider: "quickbooks", realmId }, { userId: "alice" })).toMatchObject({ status: "HEALTHY" });
  });

  it("checks Xero through /connections", async () => {
    await h.connect(service, company, "xero");
    expect(await service.checkConnection(company, "xero", { userId: "alice" })).toMatchObject({ status: "HEALTHY" });
  });

  it("reports status without calling the provider", async () => {
    expect(await service.getTokenStatus(company, "quickbooks")).toMatchObject({ status: "NO_TOKEN", accessTokenExpiresAt: null });
    await h.connect(service, company, "quickbooks");
    const calls = (await h.sim.stats()).totals.tokenEndpointCalls;
    const status = await service.getTokenStatus(company, "quickbooks");
    expect(status.status).toBe("VALID");
    expect(status.refreshTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 90 * 24 * 3600 * 1000);
    expect(status.lastRefreshedAt).toBeInstanceOf(Date);
    expect((await h.sim.stats()).totals.tokenEndpointCalls).toBe(calls);
    const list = await service.listConnections(company);
    expect(list.map((c) => [c.provider, c.connected, c.status])).toEqual([
      ["quickbooks", true, "VALID"],
      ["xero", false, "NO_TOKEN"],
    ]);
  });

  it("disconnect revokes at the provider, then removes the secrets", async () => {
    await h.connect(service, company, "xero");
    const grant = await grantOf(company, "xero");
    await service.disconnect(company, "xero", { userId: "alice" });
    expect((await h.sim.getGrant(grant.id))?.status).toBe("revoked");
    expect(await h.db.prisma.tokenSecret.count({ where: { companyId: company } })).toBe(0);
    expect(await service.getTokenStatus(company, "xero")).toMatchObject({ status: "NO_TOKEN" });
    const actions = (await auditRows(company)).map((a) => `${a.action}:${a.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(["CONNECT:SUCCESS", "REVOKE:SUCCESS", "DISCONNECT:SUCCESS"]));
  });

  it("keeps the connection when the provider cannot revoke it", async () => {
    await h.connect(service, company, "quickbooks");
    await h.sim.addFault({ kind: "error", provider: "intuit", endpoint: "revoke", status: 503 });
    await expectTokenError(service.disconnect(company, "quickbooks", { userId: "alice" }), "PROVIDER_UNAVAILABLE");
    expect(await h.db.prisma.tokenSecret.count({ where: { companyId: company } })).toBe(2);
    expect((await auditRows(company)).map((a) => `${a.action}:${a.outcome}`)).toContain("REVOKE:FAILURE");
  });

  it("finds expiring tokens and marks one invalid", async () => {
    await h.connect(service, company, "quickbooks");
    await h.expireSoon(company, "quickbooks", 2 * 60_000);
    const expiring = (await service.findExpiringTokens(5, "quickbooks")).filter((t) => t.companyId === company);
    expect(expiring.map((t) => t.kind)).toEqual(["ACCESS_TOKEN"]);
    expect(JSON.stringify(expiring)).not.toMatch(/tv1\./);
    await service.markTokenInvalid(expiring[0]!.id, "leaked in a support ticket");
    expect((await service.findExpiringTokens(5, "quickbooks")).filter((t) => t.companyId === company)).toEqual([]);
    await expectTokenError(service.findExpiringTokens(-1), "INVALID_INPUT");
  });

  it("a refresh token marked compromised stays invalid through a refresh in flight, and disconnect still revokes it", async () => {
    await h.connect(service, company, "quickbooks");
    const grant = await grantOf(company, "quickbooks");
    const stored = await service.getValidToken(company, "quickbooks", "alice");
    await h.expireSoon(company, "quickbooks");
    await h.sim.addFault({ kind: "latency", provider: "intuit", latencyMs: 600, count: 1 });
    const inFlight = service.getValidToken(company, "quickbooks", "alice");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refresh = await h.db.prisma.tokenSecret.findFirstOrThrow({ where: { companyId: company, kind: "REFRESH_TOKEN" } });
    await service.markTokenInvalid(refresh.id, "reported compromised");
    await service.idle();
    // The refresh's write is fenced off: the caller keeps the access token that is still valid,
    // and the compromised refresh token stays INVALID, not overwritten as VALID.
    expect((await inFlight).accessToken).toBe(stored.accessToken);
    const after = await h.db.prisma.tokenSecret.findUniqueOrThrow({ where: { id: refresh.id } });
    expect([after.state, after.ciphertext]).toEqual(["INVALID", refresh.ciphertext]);
    await expectTokenError(service.getValidToken(company, "quickbooks", "alice", { forceRefresh: true }), "REAUTH_REQUIRED");
    await service.disconnect(company, "quickbooks", { userId: "alice" });
    expect((await h.sim.getGrant(grant.id))?.status).toBe("revoked");
  });

  it("audits token reads in batches, flushed on close: identical reads of a batch are one row with their count", async () => {
    await h.connect(service, company, "quickbooks");
    const reader = h.service();
    const started = new Date();
    for (let i = 0; i < 5; i++) await reader.getValidToken(company, "quickbooks", "reader");
    for (let i = 0; i < 2; i++) await reader.getValidToken(company, "quickbooks", "other-reader");
    expect(reader.pendingAuditRows).toBe(7);
    await reader.close();
    const rows = await h.db.prisma.auditLog.findMany({ where: { companyId: company, action: "TOKEN_READ", userId: { in: ["reader", "other-reader"] } }, orderBy: { timestamp: "asc" } });
    expect(rows.map((r) => [r.userId, (r.details as { reads?: number } | null)?.reads])).toEqual([
      ["reader", 5],
      ["other-reader", 2],
    ]);
    const first = rows[0]!;
    const lastReadAt = new Date((first.details as { lastReadAt: string }).lastReadAt);
    expect(first.timestamp.getTime()).toBeGreaterThanOrEqual(started.getTime());
    expect(lastReadAt.getTime()).toBeGreaterThanOrEqual(first.timestamp.getTime());
  });

  it("records the caller's address and user agent on the TOKEN_READ and REFRESH rows its call wrote, a live check's included", async () => {
    await h.connect(service, company, "quickbooks");
    const reader = h.service({ checkCoalesceMs: 0 });
    const context = { ipAddress: "198.51.100.7", userAgent: "billing-service/2.1" };
    await reader.getValidToken(company, "quickbooks", "server-code", { forceRefresh: true, context });
    await reader.checkConnection(company, "quickbooks", { userId: "alice", ipAddress: "203.0.113.9", userAgent: "dashboard" });
    await reader.close();
    const rows = await h.db.prisma.auditLog.findMany({ where: { companyId: company, action: { in: ["TOKEN_READ", "REFRESH"] }, userId: { in: ["server-code", "alice"] } }, orderBy: { timestamp: "asc" } });
    expect(rows.map((r) => [r.action, r.userId, r.ipAddress, r.userAgent])).toEqual([
      ["REFRESH", "server-code", "198.51.100.7", "billing-service/2.1"],
      ["TOKEN_READ", "server-code", "198.51.100.7", "billing-service/2.1"],
      ["TOKEN_READ", "alice", "203.0.113.9", "dashboard"],
    ]);
  });

  it("failed reads are audited too: a revoked grant's REAUTH_REQUIRED answers are counted in TOKEN_READ failure rows by error code", async () => {
    await h.connect(service, company, "quickbooks");
    await h.sim.revokeGrants({ realmId: (await grantOf(company, "quickbooks")).realmId! });
    await h.expire(company, "quickbooks");
    const reader = h.service();
    // The first call's refresh is refused (invalid_grant: one REFRESH failure row); the rest are answered from the stored state.
    await expectTokenError(reader.getValidToken(company, "quickbooks", "server-code"), "REAUTH_REQUIRED");
    const calls = 40;
    const answers = await Promise.allSettled(Array.from({ length: calls }, () => reader.getValidToken(company, "quickbooks", "server-code")));
    expect(answers.map((a) => (a.status === "rejected" && a.reason instanceof TokenError ? a.reason.code : a.status))).toEqual(Array(calls).fill("REAUTH_REQUIRED"));
    await expectTokenError(reader.getValidToken(company, "quickbooks", "other-caller"), "REAUTH_REQUIRED");
    await reader.close();
    const failed = await h.db.prisma.auditLog.findMany({ where: { companyId: company, action: "TOKEN_READ", outcome: "FAILURE" }, orderBy: { timestamp: "asc" } });
    const count = (userId: string) =>
      failed
        .filter((r) => r.userId === userId)
        .map((r) => (r.details as { reads?: number } | null)?.reads ?? 1)
        .reduce((a, b) => a + b, 0);
    expect(count("server-code")).toBe(calls + 1);
    expect(count("other-caller")).toBe(1);
    // Aggregated per batch like successful reads: far fewer rows than reads, each naming the error.
    expect(failed.length).toBeLessThanOrEqual(4);
    for (const r of failed) {
      expect(r.details).toMatchObject({ errorCode: "REAUTH_REQUIRED" });
      expect([r.connectionType, r.apiEndpoint, r.responseStatus]).toEqual(["quickbooks", "tokenService.getValidToken", 412]);
      expect(r.errorMessage).toMatch(/Reconnect/);
    }
    expect(await h.db.prisma.auditLog.count({ where: { companyId: company, action: "REFRESH", outcome: "FAILURE" } })).toBe(1);
    expect(await h.db.prisma.auditLog.count({ where: { companyId: company, action: "TOKEN_READ", outcome: "SUCCESS", userId: { in: ["server-code", "other-caller"] } } })).toBe(0);
  });
});
