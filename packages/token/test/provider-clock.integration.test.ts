// Provider clock vs ours. A third-party OpenID provider's 6 s tokens carry whole-second times
// (JWT iat/exp): one issued at 12:00:00.900 dies at 12:00:06.000 while expires_in says 6, and the
// response takes time to arrive. A service that counts the lifetime from when the answer arrived
// serves, with no refresh margin, a token the provider has already killed. Every token a looping
// caller gets is used at once against the provider: it must accept every one.
import { randomBytes } from "node:crypto";
import { openDatabase, type Database } from "@tokenvault/db";
import { oidcEndpoints, startSimulator, type Simulator } from "@tokenvault/simulator";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { silentLogger } from "../src/logger";
import { genericOidcAdapter } from "../src/providers/generic-oidc";
import { ProviderRegistry } from "../src/providers/registry";
import { TokenService } from "../src/token-service";
import { REDIRECT, TEST_OPTIONS } from "./harness";

const LIFETIME_SEC = 6;
/** Three lifetimes: three refreshes, each one a chance to be served a dead token. */
const LOOP_MS = 3 * LIFETIME_SEC * 1000 + 500;

describe("a provider whose tokens live 6 s, with TOKEN_REFRESH_MARGIN_SECONDS=0", () => {
  let db: Database;
  let sim: Simulator;
  let service: TokenService;
  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: inject("databaseUrl") });
    sim = await startSimulator({ strict: true });
    await sim.updateSettings({ autoApprove: true });
    const client = await sim.registerClient({ provider: "oidc", accessTokenTtlSec: LIFETIME_SEC, wholeSecondExpiry: true });
    const adapter = await genericOidcAdapter({
      id: "short-idp",
      displayName: "Short-lived Identity",
      issuer: `${sim.url}/oidc`,
      clientId: client.clientId,
      clientSecret: client.clientSecret!,
      scopes: ["openid", "offline_access"],
    });
    service = new TokenService({
      prisma: db.prisma,
      vault: new Vault(createKeyRing(randomBytes(32))),
      providers: new ProviderRegistry([adapter]),
      logger: silentLogger,
      // The production warm path (the cache) and no refresh margin at all.
      options: { ...TEST_OPTIONS, refreshMarginMs: 0, tokenCache: true },
      listenDatabaseUrl: inject("databaseUrl"),
    });
  });
  afterAll(async () => {
    await service?.close();
    await sim?.close();
    await db?.close();
  });

  it("every token a looping caller gets is still accepted by the provider when used at once", async () => {
    const company = `clock-${randomBytes(4).toString("hex")}`;
    const { url } = await service.getAuthorizationUrl({ companyId: company, provider: "short-idp", userId: "alice", redirectUri: REDIRECT("short-idp") });
    const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!;
    await service.handleCallback({ provider: "short-idp", callbackUrl: location, companyId: company, context: { userId: "alice" } });

    const userinfo = oidcEndpoints(sim.url).userinfoEndpoint;
    const tokens = new Set<string>();
    let calls = 0;
    let rejected = 0;
    const deadline = Date.now() + LOOP_MS;
    while (Date.now() < deadline) {
      const token = await service.getValidToken(company, "short-idp", "looper");
      tokens.add(token.accessToken);
      const response = await fetch(userinfo, { headers: { authorization: `Bearer ${token.accessToken}` } });
      await response.arrayBuffer();
      calls++;
      if (response.status === 401) rejected++;
      else expect(response.status).toBe(200);
    }
    console.info(`${calls} calls, ${tokens.size} tokens, ${rejected} rejected by the provider (${((100 * rejected) / calls).toFixed(1)}%)`);
    expect(tokens.size).toBeGreaterThanOrEqual(3); // it did refresh across the loop
    expect(rejected).toBe(0);
  });
});
