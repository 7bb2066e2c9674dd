import { exportJWK, generateKeyPair } from "jose";
import OAuthClient from "intuit-oauth";
import * as oidc from "openid-client";
import { XeroClient } from "xero-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import type { ProviderSettings } from "../src/env";
import { silentLogger } from "../src/logger";
import { providersFromSettings } from "../src/providers/from-settings";
import { ProviderRegistry } from "../src/providers/registry";
import { simulatedAdapters } from "../src/providers/simulated";
import type { GenericOAuthClient } from "../src/providers/types";
import { TokenService } from "../src/token-service";
import { createHarness, TEST_OPTIONS, type Harness } from "./harness";

// Generic OAuth / OpenID Connect providers on openid-client 6, against the simulator's OpenID
// provider in strict mode (refresh tokens rotate on every use, no grace; reusing a spent one
// revokes the grant): each client authentication method, the id_token checks, rotation and reuse.

const METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"] as const;
const providerOf = (method: (typeof METHODS)[number]) => `idp-${method.replaceAll("_", "-")}`;
const SETTINGS: ProviderSettings = { production: false, quickbooks: null, xero: null, simulatorUrl: null, oidcProvidersJson: undefined, appUrl: "http://localhost:3000", refreshMarginMs: 300_000, checkCoalesceMs: 0, tokenCache: false };

let h: Harness;
let service: TokenService;
let issuer: string;
/** Client ids by provider, each registered with the simulator for its one authentication method. */
const clientIds = new Map<string, string>();

beforeAll(async () => {
  h = await createHarness(inject("databaseUrl"));
  issuer = `${h.sim.url}/oidc`;
  const entries = [];
  for (const method of METHODS) {
    const id = providerOf(method);
    if (method === "private_key_jwt") {
      const { privateKey } = await generateKeyPair("ES256", { extractable: true });
      const jwk = { ...(await exportJWK(privateKey)), kid: "tv-1", alg: "ES256" };
      const { d: _private, ...publicJwk } = jwk;
      // A public client with a key: no secret exists, so only the assertion can authenticate it.
      const client = await h.sim.registerClient({ provider: "oidc", public: true, jwks: [publicJwk], tokenEndpointAuthMethod: method });
      clientIds.set(id, client.clientId);
      entries.push({ id, displayName: `IdP ${method}`, issuer, clientId: client.clientId, tokenEndpointAuthMethod: method, privateKeyJwk: jwk, scopes: ["openid", "offline_access"] });
    } else {
      const client = await h.sim.registerClient({ provider: "oidc", tokenEndpointAuthMethod: method });
      clientIds.set(id, client.clientId);
      entries.push({ id, displayName: `IdP ${method}`, issuer, clientId: client.clientId, clientSecret: client.clientSecret, tokenEndpointAuthMethod: method, scopes: ["openid", "offline_access"] });
    }
  }
  const generic = await providersFromSettings({ ...SETTINGS, oidcProvidersJson: JSON.stringify(entries) });
  const registry = new ProviderRegistry([...simulatedAdapters(h.sim.url), ...generic.list()]);
  service = new TokenService({ prisma: h.db.prisma, vault: h.vault, providers: registry, logger: silentLogger, options: { ...TEST_OPTIONS, checkCoalesceMs: 0 } });
});
afterAll(async () => {
  await service.close();
  await h.close();
});

async function connect(company: string, provider: string): Promise<void> {
  await h.connect(service, company, provider);
}

async function grantsOf(provider: string) {
  return h.sim.listGrants({ provider: "oidc", clientId: clientIds.get(provider) });
}

describe("generic provider client authentication", () => {
  it("connects, refreshes with rotation, checks and revokes with client_secret_basic, client_secret_post and private_key_jwt", async () => {
    for (const method of METHODS) {
      const provider = providerOf(method);
      const company = `auth-${method}`;
      await connect(company, provider);
      const first = await service.getValidToken(company, provider, "alice");
      const second = await service.getValidToken(company, provider, "alice", { forceRefresh: true });
      expect(second.accessToken).not.toBe(first.accessToken);
      const third = await service.getValidToken(company, provider, "alice", { forceRefresh: true });
      expect(third.accessToken).not.toBe(second.accessToken);
      expect(await service.checkConnection(company, provider, { userId: "alice" })).toMatchObject({ status: "HEALTHY" });
      const [grant] = await grantsOf(provider);
      expect(grant).toMatchObject({ status: "active", counters: { refreshSuccess: 2, refreshFailed: 0 } });
      await service.disconnect(company, provider, { userId: "alice" });
      expect((await grantsOf(provider)).map((g) => g.status)).toEqual(["revoked"]);
    }
    expect((await h.sim.stats()).totals.reuseDetected).toBe(0);
  });

  it("refuses at start-up, naming the field, an unknown method, a missing secret or key, and a key that cannot sign", async () => {
    const base = { id: "bad-idp", displayName: "Bad", issuer, clientId: "c", scopes: ["openid"] };
    const cases: [object, RegExp][] = [
      [{ ...base, clientSecret: "s", tokenEndpointAuthMethod: "client_secret_jwt" }, /OIDC_PROVIDERS is invalid: 0\.tokenEndpointAuthMethod/],
      [{ ...base, tokenEndpointAuthMethod: "client_secret_post" }, /OIDC_PROVIDERS is invalid: 0\.clientSecret is required for tokenEndpointAuthMethod client_secret_post/],
      [{ ...base, tokenEndpointAuthMethod: "private_key_jwt" }, /OIDC_PROVIDERS is invalid: 0\.privateKeyJwk is required/],
      [{ ...base, tokenEndpointAuthMethod: "private_key_jwt", privateKeyJwk: { kty: "EC", crv: "P-256", d: "c2VjcmV0LWtleS12YWx1ZQ", x: "AA", y: "AA" } }, /OIDC_PROVIDERS is invalid: 0\.privateKeyJwk is not a usable private key/],
    ];
    for (const [entry, message] of cases) {
      const error = await providersFromSettings({ ...SETTINGS, oidcProvidersJson: JSON.stringify([entry]) }).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(TokenError);
      expect((error as TokenError).code).toBe("CONFIGURATION");
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain("c2VjcmV0LWtleS12YWx1ZQ");
    }
    // Plain http to a loopback simulator is for development and tests only.
    const production = await providersFromSettings({ ...SETTINGS, production: true, oidcProvidersJson: JSON.stringify([{ ...base, clientSecret: "s" }]) }).then(() => null, (e: unknown) => e as Error);
    expect(production?.message).toMatch(/Cannot discover the OpenID configuration of provider "bad-idp".*https/);
    // ...or in production to the simulator an operator configured explicitly (PROVIDER_SIMULATOR_URL), as for QuickBooks and Xero.
    const simulated = await providersFromSettings({ ...SETTINGS, production: true, simulatorUrl: h.sim.url, oidcProvidersJson: JSON.stringify([{ ...base, clientSecret: "s" }]) });
    expect(simulated.list().map((p) => p.id)).toContain("bad-idp");
  });
});

describe("id_token checks on connect", () => {
  it("refuses an id_token with a wrong nonce, issuer, audience or signature: a typed error, nothing stored, the grant revoked, the refusal audited", async () => {
    const provider = providerOf("client_secret_basic");
    const reasons = { wrong_nonce: "nonce_mismatch", wrong_issuer: "issuer_mismatch", wrong_audience: "audience_mismatch", bad_signature: "id_token_signature_invalid" } as const;
    try {
      for (const [fault, reason] of Object.entries(reasons)) {
        await h.sim.updateSettings({ oidcIdTokenFault: fault as keyof typeof reasons });
        const company = `idt-${fault}`;
        const error = await connect(company, provider).then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(TokenError);
        expect(error).toMatchObject({ code: "INVALID_STATE" });
        expect(await h.db.prisma.connection.count({ where: { companyId: company } })).toBe(0);
        expect(await h.db.prisma.tokenSecret.count({ where: { companyId: company } })).toBe(0);
        const audit = await h.db.prisma.auditLog.findFirstOrThrow({ where: { companyId: company, action: "CONNECT" } });
        expect(audit).toMatchObject({ outcome: "FAILURE", details: { reason } });
      }
      // Each refused grant was revoked at the provider, not left live.
      expect((await grantsOf(provider)).filter((g) => g.status === "active")).toEqual([]);
    } finally {
      await h.sim.updateSettings({ oidcIdTokenFault: null });
    }
  });
});

describe("rotation and reuse detection", () => {
  it("keeps a refresh the provider answered even when the id_token inside it is refused: the rotated token is not lost", async () => {
    const provider = providerOf("client_secret_basic");
    const company = "refresh-idt-co";
    await connect(company, provider);
    const first = await service.getValidToken(company, provider, "alice");
    try {
      await h.sim.updateSettings({ oidcIdTokenFault: "bad_signature" });
      const second = await service.getValidToken(company, provider, "alice", { forceRefresh: true });
      expect(second.accessToken).not.toBe(first.accessToken);
      await h.sim.updateSettings({ oidcIdTokenFault: null });
      // The stored refresh token is the rotated one: the next refresh works and nothing was replayed.
      const third = await service.getValidToken(company, provider, "alice", { forceRefresh: true });
      expect(third.accessToken).not.toBe(second.accessToken);
      const [grant] = (await grantsOf(provider)).filter((g) => g.status === "active");
      expect(grant?.counters).toMatchObject({ refreshSuccess: 2, refreshFailed: 0 });
      expect((await h.sim.stats()).totals.reuseDetected).toBe(0);
    } finally {
      await h.sim.updateSettings({ oidcIdTokenFault: null });
    }
  });

  it("refreshes once per expiry however many callers ask, and a replayed spent refresh token ends the grant", async () => {
    const provider = providerOf("client_secret_post");
    const company = "rotation-co";
    await connect(company, provider);
    const before = (await service.getOAuthClient(company, provider)) as GenericOAuthClient;
    await h.expire(company, provider);
    const tokens = await Promise.all(Array.from({ length: 8 }, () => service.getValidToken(company, provider, "alice")));
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    const [grant] = await grantsOf(provider).then((grants) => grants.filter((g) => g.status === "active"));
    expect(grant?.counters).toMatchObject({ refreshSuccess: 1, refreshFailed: 0 });
    expect(grant?.refreshTokens.map((t) => t.state)).toEqual(["spent", "current"]);
    expect((await h.sim.stats()).totals.reuseDetected).toBe(0);

    // Someone replays the spent refresh token (as an SDK refreshing behind the service would): the provider revokes the grant.
    const config = before.configuration;
    await expect(oidc.refreshTokenGrant(config, before.tokenSet.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
    expect((await h.sim.stats()).totals.reuseDetected).toBe(1);
    expect((await grantsOf(provider)).find((g) => g.id === grant?.id)).toMatchObject({ status: "revoked", revokedReason: "refresh_token_reuse" });
    const error = await service.getValidToken(company, provider, "alice", { forceRefresh: true }).then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ code: "REAUTH_REQUIRED" });
  });
});

describe("getOAuthClient", () => {
  /** The simulator's grant holding `refreshToken`, and that token's state there. */
  async function refreshTokenState(provider: "intuit" | "xero" | "oidc", refreshToken: string) {
    const grants = await h.sim.listGrants({ provider, token: refreshToken });
    expect(grants).toHaveLength(1);
    return grants[0]!;
  }

  it("returns intuit-oauth's OAuthClient holding the current access and refresh token", async () => {
    await connect("sdk-qb", "quickbooks");
    const client = await service.getOAuthClient("sdk-qb", "quickbooks");
    expect(client).toBeInstanceOf(OAuthClient);
    expect(client.getToken().access_token).toBe((await service.getValidToken("sdk-qb", "quickbooks", "x")).accessToken);
    const grant = await refreshTokenState("intuit", client.getToken().refresh_token);
    expect(grant.refreshTokens.map((t) => t.state)).toEqual(["current"]);
    expect(grant.realmId).toBe(client.getToken().realmId);
  });

  it("returns xero-node's XeroClient holding the current access and refresh token", async () => {
    await connect("sdk-xero", "xero");
    const client = await service.getOAuthClient("sdk-xero", "xero");
    expect(client).toBeInstanceOf(XeroClient);
    const tokenSet = client.readTokenSet();
    expect(tokenSet.access_token).toBe((await service.getValidToken("sdk-xero", "xero", "x")).accessToken);
    expect((await refreshTokenState("xero", tokenSet.refresh_token!)).refreshTokens.map((t) => t.state)).toEqual(["current"]);
  });

  it("returns for a generic provider an openid-client Configuration with the current token set, which calls the provider", async () => {
    const provider = providerOf("private_key_jwt");
    await connect("sdk-oidc", provider);
    const first = (await service.getOAuthClient("sdk-oidc", provider)) as GenericOAuthClient;
    expect(first.kind).toBe("openid-client");
    expect(first.configuration).toBeInstanceOf(oidc.Configuration);
    await service.getValidToken("sdk-oidc", provider, "alice", { forceRefresh: true });
    const client = (await service.getOAuthClient("sdk-oidc", provider)) as GenericOAuthClient;
    expect(client.tokenSet.access_token).toBe((await service.getValidToken("sdk-oidc", provider, "x")).accessToken);
    // After one rotation the grant holds the first refresh token (spent) and the current one: the client has the current one.
    expect(client.tokenSet.refresh_token).not.toBe(first.tokenSet.refresh_token);
    const grant = await refreshTokenState("oidc", client.tokenSet.refresh_token!);
    expect(grant.refreshTokens.map((t) => t.state)).toEqual(["spent", "current"]);
    expect((await refreshTokenState("oidc", first.tokenSet.refresh_token!)).id).toBe(grant.id);
    const userinfo = await oidc.fetchProtectedResource(client.configuration, client.tokenSet.access_token, new URL(`${issuer}/userinfo`), "GET");
    expect(userinfo.status).toBe(200);
  });
});

