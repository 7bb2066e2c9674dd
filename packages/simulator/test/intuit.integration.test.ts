import OAuthClient from "intuit-oauth";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { INTUIT_CLIENT_ID, INTUIT_CLIENT_SECRET, intuitEndpoints, startSimulator, type Simulator } from "../src/index";
import { consent } from "./consent";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REDIRECT = "http://localhost:3000/callback/intuit";

let sim: Simulator;

/** intuit-oauth's endpoint overrides are static (process-wide), so every client in this file shares them. */
function sdk(secret: string = INTUIT_CLIENT_SECRET, extra: { includeRefreshTokenHardExpiresIn?: boolean } = {}): OAuthClient {
  const client = new OAuthClient({ clientId: INTUIT_CLIENT_ID, clientSecret: secret, environment: "sandbox", redirectUri: REDIRECT, ...extra });
  const e = intuitEndpoints(sim.url);
  client.setAuthorizeURLs({ authorizeEndpoint: e.authorizeEndpoint, tokenEndpoint: e.tokenEndpoint, revokeEndpoint: e.revokeEndpoint, userInfoEndpoint: e.userInfoEndpoint });
  return client;
}

interface IntuitTokens {
  token_type: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
  x_refresh_token_expires_in: number;
  x_refresh_token_hard_expires_in?: number;
  id_token?: string;
}

/** The SDK's thrown errors carry the OAuth error code in `.error`. */
async function oauthErrorOf(promise: Promise<unknown>): Promise<{ error: string; error_description: string }> {
  try {
    await promise;
  } catch (e) {
    return e as { error: string; error_description: string };
  }
  throw new Error("expected the SDK call to fail");
}

async function connect(client: OAuthClient, scope: string[] = [OAuthClient.scopes.Accounting]): Promise<{ redirect: URL; tokens: IntuitTokens }> {
  const { location } = await consent(client.authorizeUri({ scope, state: "state-123" }));
  const response = await client.createToken(location);
  return { redirect: new URL(location), tokens: response.getJson() as IntuitTokens };
}

/** The SDK's own id_token validation, against the simulator's keys. */
async function validateIdToken(client: OAuthClient): Promise<boolean> {
  // The SDK reads the JWKS from a static URL that setAuthorizeURLs does not touch.
  const original = OAuthClient.jwks_uri;
  OAuthClient.jwks_uri = intuitEndpoints(sim.url).jwksUri;
  try {
    return await client.validateIdToken();
  } finally {
    OAuthClient.jwks_uri = original;
  }
}

async function companyInfo(accessToken: string, realmId: string): Promise<Response> {
  return fetch(intuitEndpoints(sim.url).companyInfo(realmId), { headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" } });
}

beforeAll(async () => {
  // A frozen base clock: only advanceClock moves time, so expires_in values are exact.
  const start = Date.now();
  sim = await startSimulator({ now: () => start });
  // The SDK retries 429/5xx/ECONNRESET with 1s, 2s, 4s back-off; keep the suite fast.
  OAuthClient.retryConfig.retryDelay = 5;
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe("Intuit with the real intuit-oauth SDK", () => {
  it("offers the same company on every consent when its realm is pinned (a reconnect of the same QuickBooks company)", async () => {
    await sim.updateSettings({ intuitRealmIds: ["9130350000000001"] });
    for (let i = 0; i < 2; i++) {
      const { redirect } = await connect(sdk(), [OAuthClient.scopes.Accounting]);
      expect(redirect.searchParams.get("realmId")).toBe("9130350000000001");
    }
    await sim.updateSettings({ intuitRealmIds: null });
    const { redirect } = await connect(sdk(), [OAuthClient.scopes.Accounting]);
    expect(redirect.searchParams.get("realmId")).not.toBe("9130350000000001");
  });

  it("authorizes through the consent page and exchanges the code", async () => {
    const client = sdk();
    const { redirect, tokens } = await connect(client, [OAuthClient.scopes.Accounting, OAuthClient.scopes.OpenId]);
    expect(redirect.origin + redirect.pathname).toBe(REDIRECT);
    expect(redirect.searchParams.get("state")).toBe("state-123");
    const realmId = redirect.searchParams.get("realmId")!;
    expect(realmId).toMatch(/^\d{16}$/);
    expect(client.getToken().realmId).toBe(realmId);
    expect(tokens.token_type).toBe("bearer");
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.x_refresh_token_expires_in).toBe(100 * 86_400);
    expect(tokens.refresh_token).toMatch(/^AB11/);
    expect(tokens.id_token).toBeTruthy();

    const info = await companyInfo(tokens.access_token, realmId);
    expect(info.status).toBe(200);
    const body = (await info.json()) as { CompanyInfo: { CompanyName: string; Id: string } };
    expect(body.CompanyInfo.Id).toBe(realmId);
    expect(body.CompanyInfo.CompanyName).toMatch(/^Sandbox Company_US_/);
    expect((await companyInfo(tokens.access_token, "9130000000000000")).status).toBe(403);
    expect((await companyInfo("not-a-token", realmId)).status).toBe(401);

    // The SDK's own API helper and userinfo work against the simulator too.
    const api = await client.makeApiCall({ url: intuitEndpoints(sim.url).companyInfo(realmId) });
    expect((api.json as { CompanyInfo: { Id: string } }).CompanyInfo.Id).toBe(realmId);
    const userInfo = await client.getUserInfo();
    expect((userInfo.getJson() as { email: string }).email).toContain("@");
  });

  it("signs an id_token the SDK's validateIdToken accepts", async () => {
    const client = sdk();
    await connect(client, [OAuthClient.scopes.Accounting, OAuthClient.scopes.OpenId]);
    await expect(validateIdToken(client)).resolves.toBe(true);
  });

  it("echoes the consent request's nonce in the code exchange's id_token, which the SDK validates", async () => {
    const client = sdk();
    // intuit-oauth's authorizeUri has no nonce parameter: the app adds it (as Tokenvault does).
    const url = new URL(client.authorizeUri({ scope: [OAuthClient.scopes.Accounting, OAuthClient.scopes.OpenId], state: "state-n" }));
    url.searchParams.set("nonce", "nonce-bound-to-state-n");
    const { location } = await consent(url.toString());
    const tokens = (await client.createToken(location)).getJson() as IntuitTokens;
    const claims = JSON.parse(Buffer.from(tokens.id_token!.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(claims.nonce).toBe("nonce-bound-to-state-n");
    expect(claims.realmid).toBe(new URL(location).searchParams.get("realmId"));
    await expect(validateIdToken(client)).resolves.toBe(true);
  });

  it("returns the same refresh token for 24 hours, then rotates it with an overlap", async () => {
    const client = sdk();
    const { tokens } = await connect(client);
    const first = tokens.refresh_token;

    await sim.advanceClock(HOUR);
    const sameDay = (await client.refreshUsingToken(first)).getJson() as IntuitTokens;
    expect(sameDay.refresh_token).toBe(first);
    expect(sameDay.access_token).not.toBe(tokens.access_token);
    expect(sameDay.x_refresh_token_expires_in).toBe(100 * 86_400 - 3600);

    await sim.advanceClock(24 * HOUR);
    const rotated = (await client.refreshUsingToken(first)).getJson() as IntuitTokens;
    expect(rotated.refresh_token).not.toBe(first);
    expect(rotated.x_refresh_token_expires_in).toBe(100 * 86_400);

    // The previous value still works (a lost response is recoverable) and yields the new one...
    const again = (await client.refreshUsingToken(first)).getJson() as IntuitTokens;
    expect(again.refresh_token).toBe(rotated.refresh_token);
    // ...until the new value is used.
    await client.refreshUsingToken(rotated.refresh_token);
    expect((await oauthErrorOf(client.refreshUsingToken(first))).error).toBe("invalid_grant");

    const [grant] = await sim.listGrants({ token: rotated.refresh_token });
    expect(grant!.counters).toMatchObject({ refreshSuccess: 4, refreshFailed: 1, invalidGrant: 1 });
  });

  it("lets the previous value lapse 24 hours after rotation even if the new one is never used", async () => {
    const client = sdk();
    const { tokens } = await connect(client);
    await sim.advanceClock(25 * HOUR);
    const rotated = (await client.refreshUsingToken(tokens.refresh_token)).getJson() as IntuitTokens;
    await sim.advanceClock(24 * HOUR + 1000);
    expect((await oauthErrorOf(client.refreshUsingToken(tokens.refresh_token))).error).toBe("invalid_grant");
    expect(((await client.refreshUsingToken(rotated.refresh_token)).getJson() as IntuitTokens).access_token).toBeTruthy();
  });

  it("expires an unused refresh token after 100 days and reports the 5-year cap on request", async () => {
    const client = sdk(INTUIT_CLIENT_SECRET, { includeRefreshTokenHardExpiresIn: true });
    const { tokens } = await connect(client);
    expect(tokens.x_refresh_token_hard_expires_in).toBe(5 * 365 * 86_400);
    await sim.advanceClock(100 * DAY);
    expect((await oauthErrorOf(client.refreshUsingToken(tokens.refresh_token))).error).toBe("invalid_grant");
  });

  it("revokes the whole grant", async () => {
    const client = sdk();
    const { redirect, tokens } = await connect(client);
    await client.revoke({ refresh_token: tokens.refresh_token });
    expect((await oauthErrorOf(client.refreshUsingToken(tokens.refresh_token))).error).toBe("invalid_grant");
    expect((await companyInfo(tokens.access_token, redirect.searchParams.get("realmId")!)).status).toBe(401);
    const [grant] = await sim.listGrants({ provider: "intuit" });
    expect(grant).toMatchObject({ status: "revoked", revokedReason: "client_revocation" });
  });

  it("accepts an authorization code once and revokes what it issued when it is replayed", async () => {
    const client = sdk();
    const { location } = await consent(client.authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: "s" }));
    const tokens = (await client.createToken(location)).getJson() as IntuitTokens;
    const replay = await oauthErrorOf(sdk().createToken(location));
    expect(replay.error).toBe("invalid_grant");
    expect((await oauthErrorOf(client.refreshUsingToken(tokens.refresh_token))).error).toBe("invalid_grant");
    const [grant] = await sim.listGrants();
    expect(grant!.revokedReason).toBe("code_reuse");
    expect((await sim.stats()).providers.intuit.codeReuse).toBe(1);
  });

  it("expires codes after 10 minutes and checks redirect_uri", async () => {
    const client = sdk();
    const { location } = await consent(client.authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: "s" }));
    await sim.advanceClock(10 * 60_000);
    expect((await oauthErrorOf(client.createToken(location))).error).toBe("invalid_grant");

    const fresh = await consent(client.authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: "s" }));
    const other = new OAuthClient({ clientId: INTUIT_CLIENT_ID, clientSecret: INTUIT_CLIENT_SECRET, environment: "sandbox", redirectUri: "http://localhost:3000/elsewhere" });
    expect((await oauthErrorOf(other.createToken(fresh.location))).error).toBe("invalid_grant");
  });

  it("rejects bad client credentials with 401 invalid_client", async () => {
    const good = sdk();
    const { tokens } = await connect(good);
    const bad = sdk("wrong-secret");
    const error = await oauthErrorOf(bad.refreshUsingToken(tokens.refresh_token));
    expect(error.error).toBe("invalid_client");
    const raw = await fetch(intuitEndpoints(sim.url).tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: INTUIT_CLIENT_ID, client_secret: INTUIT_CLIENT_SECRET }),
    });
    // Intuit only takes HTTP Basic client authentication.
    expect(raw.status).toBe(401);
    expect(await raw.json()).toMatchObject({ error: "invalid_client" });
  });

  it("shows an error page instead of redirecting for an unknown client or redirect_uri, and redirects a denial", async () => {
    const e = intuitEndpoints(sim.url);
    const unknownClient = await fetch(`${e.authorizeEndpoint}?client_id=nope&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&scope=x&state=s`, { redirect: "manual" });
    expect(unknownClient.status).toBe(400);
    expect(unknownClient.headers.get("location")).toBeNull();
    expect(await unknownClient.text()).toContain("invalid_client");
    const foreign = await fetch(`${e.authorizeEndpoint}?client_id=${INTUIT_CLIENT_ID}&redirect_uri=${encodeURIComponent("https://evil.example/cb")}&response_type=code&scope=x`, { redirect: "manual" });
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get("location")).toBeNull();

    const denied = await consent(sdk().authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: "deny-me" }), "deny");
    const url = new URL(denied.location);
    expect(url.searchParams.get("error")).toBe("access_denied");
    expect(url.searchParams.get("state")).toBe("deny-me");
    expect(url.searchParams.get("code")).toBeNull();
  });

  it("renders an accessible consent page and can auto-approve for headless runs", async () => {
    const url = sdk().authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: "s" });
    const page = await (await fetch(url)).text();
    expect(page).toMatch(/<button[^>]*aria-label="Approve"[^>]*>Approve<\/button>/);
    expect(page).toMatch(/<label for="realmId">Company<\/label>/);
    expect(page).toMatch(/realm \d{16}/);

    await sim.updateSettings({ autoApprove: { intuit: true } });
    const direct = await fetch(url, { redirect: "manual" });
    expect(direct.status).toBe(302);
    expect(new URL(direct.headers.get("location")!).searchParams.get("code")).toBeTruthy();
  });
});
