import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import { startSimulator, type Simulator } from "@tokenvault/simulator";
import { randomBytes } from "node:crypto";
import { silentLogger } from "../src/logger";
import { providersFromSettings } from "../src/providers/from-settings";
import { ProviderRegistry } from "../src/providers/registry";
import { TokenService } from "../src/token-service";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { REDIRECT, simulatorOidcAdapter, TEST_OPTIONS } from "./harness";

describe("generic OAuth 2.0 / OpenID Connect provider (issuer discovery)", () => {
  let db: Database;
  let sim: Simulator;
  let service: TokenService;
  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: inject("databaseUrl") });
    sim = await startSimulator({ strict: true });
    await sim.updateSettings({ autoApprove: true });
    const adapter = await simulatorOidcAdapter(sim.url);
    const vault = new Vault(createKeyRing(randomBytes(32)));
    service = new TokenService({
      prisma: db.prisma,
      vault: vault,
      providers: new ProviderRegistry([adapter]),
      logger: silentLogger,
      options: TEST_OPTIONS,
    });
  });
  afterAll(async () => {
    await service.close();
    await sim.close();
    await db.close();
  });

  it("connects with PKCE, refreshes with rotation, checks and revokes", async () => {
    const { url } = await service.getAuthorizationUrl({ companyId: "oidc-co", provider: "acme-idp", userId: "alice", redirectUri: REDIRECT("acme-idp") });
    expect(new URL(url).searchParams.get("code_challenge_method")).toBe("S256");
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await service.handleCallback({ provider: "acme-idp", callbackUrl: location, companyId: "oidc-co", context: { userId: "alice" } });
    const first = await service.getValidToken("oidc-co", "acme-idp", "alice");
    const second = await service.getValidToken("oidc-co", "acme-idp", "alice", { forceRefresh: true });
    expect(second.accessToken).not.toBe(first.accessToken);
    const third = await service.getValidToken("oidc-co", "acme-idp", "alice", { forceRefresh: true });
    expect(third.accessToken).not.toBe(second.accessToken); // the rotated refresh token was stored
    expect(await service.checkConnection("oidc-co", "acme-idp", { userId: "alice" })).toMatchObject({ status: "HEALTHY" });
    await service.disconnect("oidc-co", "acme-idp", { userId: "alice" });
    const grants = await sim.listGrants({ provider: "oidc" });
    expect(grants.every((g) => g.status === "revoked")).toBe(true);
    expect((await sim.stats()).totals.reuseDetected).toBe(0);
  });

  it("is configured from OIDC_PROVIDERS JSON, with clear errors for bad entries", async () => {
    const base = { production: false, quickbooks: null, xero: null, simulatorUrl: null, appUrl: "http://localhost:3000", refreshMarginMs: 300_000, checkCoalesceMs: 10_000, tokenCache: true };
    const registry = await providersFromSettings({
      ...base,
      oidcProvidersJson: JSON.stringify([{ id: "acme-idp", displayName: "Acme", issuer: `${sim.url}/oidc`, clientId: "c", clientSecret: "s", scopes: ["openid"] }]),
    });
    expect(registry.list().map((p) => p.id)).toEqual(["acme-idp"]);
    await expect(providersFromSettings({ ...base, oidcProvidersJson: "{not json" })).rejects.toThrow("OIDC_PROVIDERS is not valid JSON");
    await expect(providersFromSettings({ ...base, oidcProvidersJson: JSON.stringify([{ id: "X", displayName: "", clientId: "c" }]) })).rejects.toThrow(/OIDC_PROVIDERS is invalid/);
    // Without credentials and without a simulator (production), QuickBooks and Xero are not offered.
    expect((await providersFromSettings({ ...base, oidcProvidersJson: undefined })).list()).toEqual([]);
  });
});
