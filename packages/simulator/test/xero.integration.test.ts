import { decodeJwt } from "jose";
import { generators, Issuer, type BaseClient, type TokenSet } from "./openid-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSimulator, XERO_CLIENT_ID, XERO_CLIENT_SECRET, xeroEndpoints, type Simulator } from "../src/index";
import { consent } from "./consent";
import { opError } from "./op-error";

const MINUTE = 60_000;
const REDIRECT = "http://localhost:3000/callback/xero";
const SCOPE = "openid profile email offline_access accounting.transactions accounting.settings";

let sim: Simulator;
let client: BaseClient;

interface Connection {
  id: string;
  authEventId: string;
  tenantId: string;
  tenantType: string;
  tenantName: string;
  createdDateUtc: string;
  updatedDateUtc: string;
}

/** Runs the whole browser leg with PKCE, state and nonce, and lets openid-client validate the callback. */
async function connect(opts: { tenants?: string[] } = {}): Promise<TokenSet> {
  const state = generators.state();
  const nonce = generators.nonce();
  const verifier = generators.codeVerifier();
  const url = client.authorizationUrl({ scope: SCOPE, state, nonce, code_challenge: generators.codeChallenge(verifier), code_challenge_method: "S256" });
  const { location } = await consent(url, "approve", opts);
  return client.callback(REDIRECT, client.callbackParams(location), { state, nonce, code_verifier: verifier });
}

async function connections(accessToken: string): Promise<{ status: number; body: Connection[] }> {
  const response = await fetch(xeroEndpoints(sim.url).connections, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, body: response.status === 200 ? ((await response.json()) as Connection[]) : [] };
}

beforeAll(async () => {
  sim = await startSimulator();
  const issuer = await Issuer.discover(`${sim.url}/xero`);
  client = new issuer.Client({ client_id: XERO_CLIENT_ID, client_secret: XERO_CLIENT_SECRET, redirect_uris: [REDIRECT], response_types: ["code"] });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe("Xero with openid-client 6", () => {
  it("discovers the issuer at <simulator>/xero", async () => {
    const issuer = await Issuer.discover(`${sim.url}/xero`);
    expect(issuer.issuer).toBe(`${sim.url}/xero`);
    expect(issuer.metadata.token_endpoint).toBe(xeroEndpoints(sim.url).tokenEndpoint);
    expect(issuer.metadata.revocation_endpoint).toBe(xeroEndpoints(sim.url).revocationEndpoint);
  });

  it("grants the scopes asked for, less those the settings withhold", async () => {
    expect((await connect()).scope).toBe(SCOPE);
    await sim.updateSettings({ withheldScopes: ["accounting.transactions", "not.asked"] });
    expect((await connect()).scope).toBe(SCOPE.replace(" accounting.transactions", ""));
    const refreshed = await client.refresh((await connect()).refresh_token!);
    expect(refreshed.scope).toBe(SCOPE.replace(" accounting.transactions", ""));
  });

  it("completes the code flow with a validated RS256 id_token and connects two tenants", async () => {
    const tokens = await connect();
    expect(tokens.token_type).toBe("Bearer");
    expect(tokens.expires_in).toBeGreaterThan(1790);
    expect(tokens.scope).toBe(SCOPE);
    const claims = tokens.claims();
    expect(claims.iss).toBe(`${sim.url}/xero`);
    expect(claims.aud).toBe(XERO_CLIENT_ID);
    expect(claims.email).toContain("@");

    const { status, body } = await connections(tokens.access_token!);
    expect(status).toBe(200);
    expect(body).toHaveLength(2);
    const accessClaims = decodeJwt(tokens.access_token!);
    for (const c of body) {
      expect(c).toMatchObject({ tenantType: "ORGANISATION", authEventId: accessClaims.authentication_event_id });
      expect(c.createdDateUtc).toMatch(/Z$/);
    }

    const org = await fetch(xeroEndpoints(sim.url).organisation, { headers: { authorization: `Bearer ${tokens.access_token}`, "xero-tenant-id": body[0]!.tenantId } });
    expect(org.status).toBe(200);
    expect(((await org.json()) as { Organisations: Array<{ Name: string }> }).Organisations[0]!.Name).toBe(body[0]!.tenantName);
    const foreign = await fetch(xeroEndpoints(sim.url).organisation, { headers: { authorization: `Bearer ${tokens.access_token}`, "xero-tenant-id": crypto.randomUUID() } });
    expect(foreign.status).toBe(403);
    const anonymous = await fetch(xeroEndpoints(sim.url).organisation, { headers: { "xero-tenant-id": body[0]!.tenantId } });
    expect(anonymous.status).toBe(401);
  });

  it("connects only the organisations ticked and honours the tenant count setting", async () => {
    await sim.updateSettings({ xeroTenantsPerAuthorization: 3 });
    const url = client.authorizationUrl({ scope: SCOPE, state: "s", code_challenge: generators.codeChallenge(generators.codeVerifier()), code_challenge_method: "S256" });
    const page = await (await fetch(url)).text();
    expect(page.match(/type="checkbox"/g)).toHaveLength(3);
    await sim.updateSettings({ xeroTenantsPerAuthorization: 2 });
    const first = (await connect()).access_token!;
    const kept = (await connections(first)).body[0]!;
    expect((await connections(first)).body).toHaveLength(2);

    // DELETE /connections/:id disconnects one organisation.
    const removed = await fetch(`${xeroEndpoints(sim.url).connections}/${kept.id}`, { method: "DELETE", headers: { authorization: `Bearer ${first}` } });
    expect(removed.status).toBe(204);
    expect((await connections(first)).body.map((c) => c.id)).not.toContain(kept.id);
  });

  it("offers the same organisations on every consent when they are pinned, so a reconnect reaches the same tenant ids", async () => {
    const pinned = [{ tenantId: crypto.randomUUID(), tenantName: "Pinned One" }, { tenantId: crypto.randomUUID(), tenantName: "Pinned Two" }];
    await sim.updateSettings({ xeroTenants: pinned });
    try {
      for (let i = 0; i < 2; i++) {
        const token = (await connect()).access_token!;
        expect((await connections(token)).body.map((c) => [c.tenantId, c.tenantName])).toEqual(pinned.map((t) => [t.tenantId, t.tenantName]));
      }
    } finally {
      await sim.updateSettings({ xeroTenants: null });
    }
    const fresh = (await connect()).access_token!;
    expect((await connections(fresh)).body.map((c) => c.tenantId)).not.toContain(pinned[0]!.tenantId);
  });

  it("rotates the refresh token on every refresh with a 30-minute grace for the old one", async () => {
    const initial = await connect();
    const second = await client.refresh(initial);
    expect(second.refresh_token).not.toBe(initial.refresh_token);
    expect(second.claims().sub).toBe(initial.claims().sub);

    // Within the grace period the old value answers with the grant's current token set.
    await sim.advanceClock(29 * MINUTE);
    const replay = await client.refresh(initial.refresh_token!);
    expect(replay.refresh_token).toBe(second.refresh_token);
    expect(replay.access_token).not.toBe(second.access_token);

    await sim.advanceClock(2 * MINUTE);
    const late = await opError(client.refresh(initial.refresh_token!));
    expect(late.error).toBe("invalid_grant");
    // The current one is unaffected outside strict mode.
    const third = await client.refresh(second.refresh_token!);
    expect(third.refresh_token).not.toBe(second.refresh_token);

    const stats = await sim.stats();
    expect(stats.providers.xero).toMatchObject({ refreshSuccess: 3, refreshFailed: 1, invalidGrant: 1, reuseDetected: 0 });
  });

  it("in strict mode revokes the grant when a spent refresh token is replayed after the grace period", async () => {
    await sim.updateSettings({ strict: true });
    const initial = await connect();
    const second = await client.refresh(initial);
    await sim.advanceClock(31 * MINUTE);
    expect((await opError(client.refresh(initial.refresh_token!))).error).toBe("invalid_grant");
    expect((await opError(client.refresh(second.refresh_token!))).error).toBe("invalid_grant");
    expect((await connections(second.access_token!)).status).toBe(401);
    const [grant] = await sim.listGrants({ provider: "xero" });
    expect(grant).toMatchObject({ status: "revoked", revokedReason: "refresh_token_reuse", tenants: [] });
    expect((await sim.stats()).providers.xero.reuseDetected).toBe(1);
  });

  it("takes strict mode per request through the x-sim-strict header", async () => {
    const initial = await connect();
    await client.refresh(initial);
    await sim.advanceClock(31 * MINUTE);
    const response = await fetch(xeroEndpoints(sim.url).tokenEndpoint, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${XERO_CLIENT_ID}:${XERO_CLIENT_SECRET}`)}`, "x-sim-strict": "true" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: initial.refresh_token! }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
    expect((await sim.listGrants())[0]!.status).toBe("revoked");
  });

  it("expires a refresh token left unused for 60 days", async () => {
    const initial = await connect();
    await sim.advanceClock(60 * 24 * 60 * MINUTE);
    expect((await opError(client.refresh(initial))).error).toBe("invalid_grant");
  });

  it("revocation removes the authorization and all its tenants", async () => {
    const tokens = await connect();
    await client.revoke(tokens.refresh_token!);
    expect((await connections(tokens.access_token!)).status).toBe(401);
    expect((await opError(client.refresh(tokens))).error).toBe("invalid_grant");
    expect((await sim.listGrants())[0]!.tenants).toEqual([]);
  });

  it("verifies PKCE and accepts client_secret_post", async () => {
    const state = generators.state();
    const verifier = generators.codeVerifier();
    const url = client.authorizationUrl({ scope: SCOPE, state, code_challenge: generators.codeChallenge(verifier), code_challenge_method: "S256" });
    const { location } = await consent(url);
    const wrong = await opError(client.callback(REDIRECT, client.callbackParams(location), { state, code_verifier: generators.codeVerifier() }));
    expect(wrong.error).toBe("invalid_grant");

    const issuer = await Issuer.discover(`${sim.url}/xero`);
    const postClient = new issuer.Client({ client_id: XERO_CLIENT_ID, client_secret: XERO_CLIENT_SECRET, redirect_uris: [REDIRECT], token_endpoint_auth_method: "client_secret_post" });
    const fresh = await consent(client.authorizationUrl({ scope: "offline_access accounting.transactions", state }));
    // Without openid there is no id_token, and openid-client's callback() insists on one: oauthCallback() is the plain OAuth path.
    const tokens = await postClient.oauthCallback(REDIRECT, postClient.callbackParams(fresh.location), { state });
    expect(tokens.id_token).toBeUndefined();
    expect(tokens.refresh_token).toBeTruthy();
  });

  it("rejects malformed token requests with a JSON OAuth error", async () => {
    const basic = `Basic ${btoa(`${XERO_CLIENT_ID}:${XERO_CLIENT_SECRET}`)}`;
    const post = (body: string | URLSearchParams, headers: Record<string, string> = {}) => fetch(xeroEndpoints(sim.url).tokenEndpoint, { method: "POST", headers: { authorization: basic, ...headers }, body });
    const cases: Array<[Response, number, string]> = [
      [await post(new URLSearchParams({ grant_type: "password" })), 400, "unsupported_grant_type"],
      [await post(new URLSearchParams({})), 400, "invalid_request"],
      [await post(new URLSearchParams({ grant_type: "refresh_token" })), 400, "invalid_request"],
      [await post(JSON.stringify({ grant_type: "refresh_token" }), { "content-type": "application/json" }), 400, "invalid_request"],
      [await post(new URLSearchParams({ grant_type: "authorization_code", code: "nope", redirect_uri: REDIRECT })), 400, "invalid_grant"],
    ];
    for (const [response, status, error] of cases) {
      expect(response.status).toBe(status);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error).toBe(error);
      expect(body.error_description).toBeTruthy();
      expect(JSON.stringify(body)).not.toMatch(/\bat .*\.ts:\d+/);
    }
  });
});
