import { join } from "node:path";
import { LineProcess } from "@tokenvault/db/testing";
import { TokenError } from "@tokenvault/vault";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { silentLogger } from "../src/logger";
import { ProviderRegistry } from "../src/providers/registry";
import { TokenService } from "../src/token-service";
import { createHarness, registryFor, simulatorOidcAdapter, TEST_OPTIONS, type Harness } from "./harness";

// kill -9 of the lease holder while its provider call is in flight: the short lease it kept
// alive by heartbeat lapses, and another process completes the refresh.
const HERD_WORKER = join(import.meta.dirname, "herd-worker.ts");
const PACKAGE_ROOT = join(import.meta.dirname, "..");
const LEASE_MS = 5_000;
/** Generous: a loaded CI machine polls and answers late, but never a second lease late. */
const TAKEOVER_SLACK_MS = 3_000;

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("a lease holder killed mid-refresh is replaced within one lease", () => {
  let h: Harness;
  let service: TokenService;
  beforeAll(async () => {
    h = await createHarness(inject("databaseUrl"), { strict: true });
    const registry = new ProviderRegistry([...registryFor(h.sim.url).list(), await simulatorOidcAdapter(h.sim.url)]);
    service = new TokenService({ prisma: h.db.prisma, vault: h.vault, providers: registry, logger: silentLogger, options: { ...TEST_OPTIONS, leaseMs: LEASE_MS }, listenDatabaseUrl: inject("databaseUrl") });
  });
  afterAll(async () => {
    await service.close();
    await h.close();
  });

  /** Starts a holder process whose refresh stalls at the provider, kills it there, and returns what it left behind. */
  async function killHolderMidRefresh(company: string, provider: string, simProvider: "xero" | "intuit" | "oidc") {
    await h.connect(service, company, provider);
    const old = await service.getValidToken(company, provider, "setup");
    const [grant] = await h.sim.listGrants({ token: old.accessToken });
    if (!grant) throw new Error("no grant at the simulator");
    const { id } = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company, provider } });
    await h.expire(company, provider);

    const holder = new LineProcess(HERD_WORKER, {
      HERD_DATABASE_URL: inject("databaseUrl"),
      HERD_SIMULATOR_URL: h.sim.url,
      HERD_KEY: h.keyHex,
      HERD_COMPANY: company,
      HERD_PROVIDER: provider,
      HERD_CALLERS: "1",
      HERD_LEASE_MS: String(LEASE_MS),
    }, PACKAGE_ROOT);
    const { ready: pid } = await holder.next<{ ready: number }>(120_000);
    const faultsBefore = (await h.sim.stats()).totals.faultsInjected;
    // The provider holds the request 1.5 s, then handles it (a rotation is committed there) and answers a dead socket.
    await h.sim.addFault({ kind: "latency", provider: simProvider, latencyMs: 1_500, count: 1 });
    holder.send("go 1");
    await until(async () => (await h.sim.stats()).totals.faultsInjected > faultsBefore);
    expect((await h.db.prisma.oAuthGrant.findUniqueOrThrow({ where: { id } })).leaseOwner).toMatch(new RegExp(`^${pid}:`));
    process.kill(pid, "SIGKILL");
    const killedAt = Date.now();
    // Its refresh still reached the provider: the response is what was lost.
    await until(async () => ((await h.sim.getGrant(grant.id))?.counters.refreshSuccess ?? 0) >= 1);
    const deadLease = (await h.db.prisma.oAuthGrant.findUniqueOrThrow({ where: { id } })).leaseExpiresAt;
    expect(deadLease).not.toBeNull();
    // The dead holder's lease ends at most one lease after its last heartbeat.
    expect(deadLease!.getTime() - killedAt).toBeLessThanOrEqual(LEASE_MS + 200);
    return { old, grant, killedAt, deadLease: deadLease!.getTime() };
  }

  const refreshRows = (companyId: string) => h.db.prisma.auditLog.findMany({ where: { companyId, action: "REFRESH" }, orderBy: { timestamp: "asc" } });

  it.each([
    ["xero", "xero"],
    ["quickbooks", "intuit"],
  ] as const)("%s (a grace window): another process completes the refresh, no invalid_grant", async (provider, simProvider) => {
    const company = `kill-${provider}`;
    const { old, grant, killedAt, deadLease } = await killHolderMidRefresh(company, provider, simProvider);
    const token = await service.getValidToken(company, provider, "bob"); // expired: waits for the lease to lapse, then refreshes
    expect(token.accessToken).not.toBe(old.accessToken);
    const rows = await refreshRows(company);
    expect(rows.map((r) => [r.outcome, r.userId])).toEqual([["SUCCESS", "bob"]]);
    // Taken over after the dead lease ended (the lease held), and within a lease of the kill.
    expect(rows[0]!.timestamp.getTime()).toBeGreaterThanOrEqual(deadLease - 50);
    expect(rows[0]!.timestamp.getTime() - killedAt).toBeLessThanOrEqual(LEASE_MS + TAKEOVER_SLACK_MS);
    const after = await h.sim.getGrant(grant.id);
    expect(after?.status).toBe("active");
    expect(after?.counters).toMatchObject({ refreshSuccess: 2, invalidGrant: 0 });
    // What was stored is the grant's current set: the next refresh works too.
    await h.expire(company, provider);
    expect((await service.getValidToken(company, provider, "bob")).accessToken).not.toBe(token.accessToken);
    expect((await h.sim.getGrant(grant.id))?.counters.invalidGrant).toBe(0);
  }, 60_000);

  it("strict rotation without grace: the connection ends cleanly in REAUTH_REQUIRED with one audit row, no retry loop", async () => {
    const company = "kill-oidc";
    const { grant, killedAt } = await killHolderMidRefresh(company, "acme-idp", "oidc");
    const failed = await service.getValidToken(company, "acme-idp", "bob").then(
      () => null,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(TokenError);
    expect((failed as TokenError).code).toBe("REAUTH_REQUIRED");
    // The provider saw the reuse of the rotated refresh token and revoked the grant.
    expect((await h.sim.getGrant(grant.id))?.status).toBe("revoked");
    const rows = await refreshRows(company);
    expect(rows.map((r) => [r.outcome, (r.details as { reason?: string }).reason])).toEqual([["FAILURE", "invalid_grant"]]);
    expect(rows[0]!.timestamp.getTime() - killedAt).toBeLessThanOrEqual(LEASE_MS + TAKEOVER_SLACK_MS);
    // No retry loop: later callers are told at once, the provider is not asked again.
    const calls = (await h.sim.stats()).totals.tokenEndpointCalls;
    for (let i = 0; i < 3; i++) await expect(service.getValidToken(company, "acme-idp", "bob")).rejects.toMatchObject({ code: "REAUTH_REQUIRED" });
    expect((await h.sim.stats()).totals.tokenEndpointCalls).toBe(calls);
    expect(await refreshRows(company)).toHaveLength(1);
    expect(await service.getTokenStatus(company, "acme-idp")).toMatchObject({ status: "EXPIRED" });
  }, 60_000);
});
