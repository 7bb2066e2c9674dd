// tokenService.importConnection against real PostgreSQL and the simulator over HTTP: tokens the
// simulator minted (as another system would hold them) are verified, sealed and audited, once.
import { randomUUID } from "node:crypto";
import type { MintedGrant } from "@tokenvault/simulator";
import { TokenError } from "@tokenvault/vault";
import { describe, expect, it } from "vitest";
import { useHarness, type Harness } from "./harness";
import type { TokenService } from "../src/token-service";

let h: Harness;
let service: TokenService;
let company: string;
useHarness((context) => ({ h, service, company } = context));

const alice = { userId: "alice" };

/** Every stored row of the company that could hold a token, as text: none may contain `value` in clear. */
async function rowsOf(companyId: string): Promise<string> {
  const [grants, secrets, audit, deliveries] = await Promise.all([
    h.db.prisma.oAuthGrant.findMany({ where: { companyId } }),
    h.db.prisma.tokenSecret.findMany({ where: { companyId } }),
    h.db.prisma.auditLog.findMany({ where: { companyId } }),
    h.db.prisma.webhookDelivery.findMany({ where: { companyId } }),
  ]);
  return JSON.stringify({ grants, secrets, audit, deliveries });
}

const audits = (companyId: string) => h.db.prisma.auditLog.findMany({ where: { companyId, action: "IMPORT" }, orderBy: { timestamp: "asc" } });
const connectionsOf = (companyId: string) => h.db.prisma.connection.findMany({ where: { companyId }, orderBy: { externalId: "asc" } });
const deliveriesOf = (companyId: string) => h.db.prisma.webhookDelivery.findMany({ where: { companyId }, orderBy: { createdAt: "asc" } });
const withEndpoint = async (companyId: string) => {
  await service.webhooks.endpoints.create({ companyId, url: "https://203.0.113.10/hooks" }, alice);
};

async function mint(provider: "xero" | "intuit", options: { accessToken?: boolean; tenantsPerGrant?: number } = {}): Promise<MintedGrant> {
  const [grant] = await h.sim.mintGrants({ provider, count: 1, ...options });
  return grant!;
}

describe("importConnection", () => {
  it("imports a Xero grant with a live access token after one identity call, and announces the connection", async () => {
    await withEndpoint(company);
    const grant = await mint("xero");
    const before = (await h.sim.stats()).providers.xero.tokenEndpointCalls;
    const result = await service.importConnection(
      { companyId: company, provider: "xero", accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAt: grant.accessTokenExpiresAt, metadata: { legacyId: 42 } },
      alice,
    );
    expect(result).toMatchObject({ outcome: "imported", verifiedBy: "identity call", providerCalls: 1, provider: "xero", externalId: grant.tenants[0]!.tenantId });
    expect(result.connections.map(({ externalId, displayName }) => ({ externalId, displayName }))).toEqual([{ externalId: grant.tenants[0]!.tenantId, displayName: grant.tenants[0]!.tenantName }]);
    // No refresh: the imported access token is the one served.
    expect((await h.sim.stats()).providers.xero.tokenEndpointCalls).toBe(before);
    const token = await service.getValidToken({ connectionId: result.connections[0]!.id });
    expect(token.accessToken).toBe(grant.accessToken);
    expect(token.expiresAt.getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);

    const [row] = await audits(company);
    expect(row).toMatchObject({ outcome: "SUCCESS", connectionId: result.connections[0]!.id, apiEndpoint: `${h.sim.url}/xero/api/connections`, requestMethod: "GET" });
    expect(row!.details).toMatchObject({ verifiedBy: "identity call", providerCalls: 1 });
    const grantRow = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: company } });
    expect(grantRow.metadata).toMatchObject({ importedMetadata: { legacyId: 42 } });
    expect(grantRow.importFingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [delivery] = await deliveriesOf(company);
    expect(delivery).toMatchObject({ eventType: "connection.created" });
    expect(delivery!.payload).toMatchObject({ type: "connection.created", data: { connectionId: result.connections[0]!.id, provider: "xero", source: "import" } });
    const stored = await rowsOf(company);
    expect(stored).not.toContain(grant.accessToken);
    expect(stored).not.toContain(grant.refreshToken);
  });

  it("imports a QuickBooks grant holding only a refresh token through one refresh, and names the company", async () => {
    const grant = await mint("intuit", { accessToken: false });
    const result = await service.importConnection({ companyId: company, provider: "qbo", refreshToken: grant.refreshToken, realmId: grant.realmId }, alice);
    // The refresh, then CompanyInfo of the realm: the tokens are proven to reach it.
    expect(result).toMatchObject({ outcome: "imported", verifiedBy: "refresh", providerCalls: 2, provider: "quickbooks", externalId: grant.realmId });
    expect(result.connections[0]!.displayName).toMatch(/^Sandbox Company_US_/);
    expect((await h.sim.getGrant(grant.grantId))!.counters.refreshSuccess).toBe(1);
    const token = await service.getValidToken(company, "quickbooks", "alice");
    expect(token.externalId).toBe(grant.realmId);
    const info = await service.fetch({ connectionId: result.connections[0]!.id }, `companyinfo/${grant.realmId}`);
    expect(info.status).toBe(200);
    expect((await audits(company))[0]).toMatchObject({ outcome: "SUCCESS", apiEndpoint: `${h.sim.url}/intuit/oauth2/v1/tokens/bearer` });
  });

  it("falls back to a refresh when the access token given as live is refused", async () => {
    const grant = await mint("xero");
    await h.sim.revokeAccessTokens(grant.grantId);
    const result = await service.importConnection({ companyId: company, provider: "xero", accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAt: grant.accessTokenExpiresAt }, alice);
    expect(result).toMatchObject({ outcome: "imported", verifiedBy: "refresh", providerCalls: 3 });
    expect((await service.getValidToken({ connectionId: result.connections[0]!.id })).accessToken).not.toBe(grant.accessToken);
  });

  it("refuses a revoked refresh token with the provider's reason, storing nothing", async () => {
    await withEndpoint(company);
    const grant = await mint("intuit", { accessToken: false });
    await h.sim.revokeGrant(grant.grantId);
    const error = await service.importConnection({ companyId: company, provider: "quickbooks", refreshToken: grant.refreshToken, realmId: grant.realmId }, alice).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenError);
    expect(error).toMatchObject({ code: "REAUTH_REQUIRED", details: { providerError: "invalid_grant", providerReason: "refresh token has been revoked", status: 400 } });
    expect((error as TokenError).message).toBe("QuickBooks Online refused the refresh token: invalid_grant (refresh token has been revoked).");
    expect(await h.db.prisma.oAuthGrant.count({ where: { companyId: company } })).toBe(0);
    expect(await h.db.prisma.tokenSecret.count({ where: { companyId: company } })).toBe(0);
    expect(await connectionsOf(company)).toEqual([]);
    expect(await deliveriesOf(company)).toEqual([]);
    const [row] = await audits(company);
    expect(row).toMatchObject({ outcome: "FAILURE", errorMessage: (error as TokenError).message });
    expect(await rowsOf(company)).not.toContain(grant.refreshToken);
  });

  it("is idempotent: the same record again is already present, with no provider call", async () => {
    const grant = await mint("xero");
    const record = { companyId: company, provider: "xero", accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAt: grant.accessTokenExpiresAt };
    const first = await service.importConnection(record, alice);
    // The grant refreshed since: the record still names it (by the token it was imported with).
    await h.expire(company, "xero");
    await service.getValidToken(company, "xero", "alice");
    const calls = (await h.sim.stats()).providers.xero.tokenEndpointCalls;
    const again = await service.importConnection(record, alice);
    expect(again).toMatchObject({ outcome: "already present", providerCalls: 0, verifiedBy: null, connections: first.connections });
    expect((await h.sim.stats()).providers.xero.tokenEndpointCalls).toBe(calls);
    expect(await connectionsOf(company)).toHaveLength(1);
    expect(await audits(company)).toHaveLength(1);
    // Twice at once in one process: one import, one already present.
    const other = await mint("xero", { accessToken: false });
    const both = await Promise.all([1, 2].map(() => service.importConnection({ companyId: company, provider: "xero", refreshToken: other.refreshToken }, alice)));
    expect(both.map((r) => r.outcome).sort()).toEqual(["already present", "imported"]);
    expect((await h.sim.getGrant(other.grantId))!.counters.refreshSuccess).toBe(1);
    // The same token for another company is refused, not attached there.
    const elsewhere = await service.importConnection({ ...record, companyId: `${company}-b` }, alice).catch((e: unknown) => e);
    expect(elsewhere).toMatchObject({ code: "INVALID_INPUT" });
    expect((elsewhere as TokenError).message).toContain("another company");
    expect(await connectionsOf(`${company}-b`)).toEqual([]);
  });

  it("connects the Xero organisations named by tenantIds, each a connection of one grant", async () => {
    const grant = await mint("xero", { tenantsPerGrant: 3 });
    const [a, b, c] = grant.tenants.map((t) => t.tenantId);
    const refused = await service.importConnection({ companyId: company, provider: "xero", refreshToken: grant.refreshToken, accessToken: grant.accessToken, expiresAt: grant.accessTokenExpiresAt, tenantIds: [a!, "not-granted"] }, alice).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "INVALID_INPUT" });
    expect((refused as TokenError).message).toContain("not-granted");
    expect(await connectionsOf(company)).toEqual([]);

    const result = await service.importConnection({ companyId: company, provider: "xero", refreshToken: grant.refreshToken, accessToken: grant.accessToken, expiresAt: grant.accessTokenExpiresAt, tenantIds: [a!, b!] }, alice);
    expect(result.connections.map((k) => k.externalId).sort()).toEqual([a, b].sort());
    const rows = await connectionsOf(company);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((k) => k.grantId)).size).toBe(1);
    expect((await service.getValidToken({ companyId: company, provider: "xero", tenantId: b! })).accessToken).toBe(grant.accessToken);
    expect(rows.map((k) => k.externalId)).not.toContain(c);
  });

  it("refuses bad records with the field at fault and never the token", async () => {
    const secret = `rt-${randomUUID()}`;
    const cases: [unknown, RegExp][] = [
      [{ companyId: company, provider: "xero" }, /refreshToken is required/],
      [{ companyId: company, provider: "quickbooks", refreshToken: secret }, /needs its realmId/],
      [{ companyId: company, provider: "xero", refreshToken: secret, realmId: "123" }, /do not take a realmId/],
      [{ companyId: company, provider: "xero", refresh_token: secret }, /unknown field\(s\) refresh_token/],
      [{ companyId: "bad company", provider: "xero", refreshToken: secret }, /companyId must be/],
      [{ companyId: company, provider: "xero", refreshToken: secret, expiresAt: "tomorrow" }, /expiresAt/],
    ];
    for (const [input, message] of cases) {
      const error = await service.importConnection(input as never, alice).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "INVALID_INPUT" });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(secret);
    }
    await expect(service.importConnection({ companyId: company, provider: "nope", refreshToken: secret }, alice)).rejects.toMatchObject({ code: "UNKNOWN_PROVIDER" });
    expect(await h.db.prisma.oAuthGrant.count({ where: { companyId: company } })).toBe(0);
  });
});

describe("connection.created on a consent", () => {
  it("is recorded for each new connection of a connect, and not for a reconnect of the same one", async () => {
    await withEndpoint(company);
    await h.pinRealm();
    await h.connect(service, company, "quickbooks");
    await h.connect(service, company, "quickbooks");
    const deliveries = await deliveriesOf(company);
    expect(deliveries.map((d) => d.eventType)).toEqual(["connection.created"]);
    const [connection] = await connectionsOf(company);
    expect(deliveries[0]!.payload).toMatchObject({ data: { connectionId: connection!.id, companyId: company, provider: "quickbooks", source: "consent" } });
  });
});
