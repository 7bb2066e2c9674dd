import { execFile } from "node:child_process";
import { promisify } from "node:util";
import OAuthClient from "intuit-oauth";
import { errors, generators, Issuer, type BaseClient, type TokenSet } from "./openid-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  connectSimulator,
  INTUIT_CLIENT_ID,
  INTUIT_CLIENT_SECRET,
  intuitEndpoints,
  oidcEndpoints,
  SimulatorControlError,
  startSimulator,
  XERO_CLIENT_ID,
  XERO_CLIENT_SECRET,
  xeroEndpoints,
  type HttpSimulatorControl,
  type Simulator,
} from "../src/index";
import { consent } from "./consent";

const REDIRECT = "http://127.0.0.1:3000/callback";
let sim: Simulator;
/** Faults and checks go through the HTTP control API, as another process would. */
let control: HttpSimulatorControl;
let xero: BaseClient;

async function connectXero(): Promise<TokenSet> {
  const state = generators.state();
  const verifier = generators.codeVerifier();
  const url = xero.authorizationUrl({ scope: "openid offline_access accounting.settings", state, code_challenge: generators.codeChallenge(verifier), code_challenge_method: "S256" });
  const { location } = await consent(url);
  return xero.callback(REDIRECT, xero.callbackParams(location), { state, code_verifier: verifier });
}

function intuitSdk(): OAuthClient {
  const client = new OAuthClient({ clientId: INTUIT_CLIENT_ID, clientSecret: INTUIT_CLIENT_SECRET, environment: "sandbox", redirectUri: REDIRECT });
  const e = intuitEndpoints(sim.url);
  client.setAuthorizeURLs({ authorizeEndpoint: e.authorizeEndpoint, tokenEndpoint: e.tokenEndpoint, revokeEndpoint: e.revokeEndpoint, userInfoEndpoint: e.userInfoEndpoint });
  return client;
}

async function connectIntuit(client: OAuthClient): Promise<{ realmId: string; refreshToken: string }> {
  const { location } = await consent(client.authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: "s" }));
  const tokens = (await client.createToken(location)).getJson() as { refresh_token: string };
  return { realmId: new URL(location).searchParams.get("realmId")!, refreshToken: tokens.refresh_token };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

beforeAll(async () => {
  sim = await startSimulator();
  control = connectSimulator(sim.url);
  const issuer = await Issuer.discover(`${sim.url}/xero`);
  xero = new issuer.Client({ client_id: XERO_CLIENT_ID, client_secret: XERO_CLIENT_SECRET, redirect_uris: [REDIRECT] });
  OAuthClient.retryConfig.retryDelay = 5;
});
afterAll(() => sim.close());
beforeEach(() => control.reset());

describe("faults", () => {
  it("answers with a 5xx for the next N requests, without touching the grant", async () => {
    const tokens = await connectXero();
    await control.addFault({ provider: "xero", kind: "error", status: 503, count: 1 });
    const error = await rejection(xero.refresh(tokens));
    expect(error).toBeInstanceOf(errors.OPError);
    expect((error as errors.OPError).error).toBe("temporarily_unavailable");
    expect((error as errors.OPError).response?.statusCode).toBe(503);
    // Nothing was rotated: the same refresh token still works once the fault is spent.
    const next = await xero.refresh(tokens);
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    const stats = await control.stats();
    expect(stats.providers.xero).toMatchObject({ refreshSuccess: 1, refreshFailed: 1, faultsInjected: 1 });
    expect(Object.values(stats.grants)[0]).toMatchObject({ refreshSuccess: 1, refreshFailed: 1 });
    expect(await control.listFaults()).toEqual([]);
  });

  it("rate-limits with Retry-After; intuit-oauth retries 429 by itself", async () => {
    const client = intuitSdk();
    const { refreshToken } = await connectIntuit(client);
    await control.addFault({ provider: "intuit", kind: "rate_limit", retryAfterSeconds: 7, count: 1 });
    const raw = await fetch(intuitEndpoints(sim.url).tokenEndpoint, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${INTUIT_CLIENT_ID}:${INTUIT_CLIENT_SECRET}`)}` },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get("retry-after")).toBe("7");
    expect(await raw.json()).toMatchObject({ error: "rate_limit_exceeded" });

    // The SDK retries 429 up to three times (ignoring Retry-After): two 429s are invisible to the caller.
    await control.addFault({ provider: "intuit", kind: "rate_limit", count: 2 });
    const before = (await control.stats()).providers.intuit.tokenEndpointCalls;
    const refreshed = (await client.refreshUsingToken(refreshToken)).getJson() as { refresh_token: string };
    expect(refreshed.refresh_token).toBe(refreshToken);
    expect((await control.stats()).providers.intuit.tokenEndpointCalls - before).toBe(3);
  });

  it("adds latency", async () => {
    const tokens = await connectXero();
    await control.addFault({ provider: "xero", endpoint: "api", kind: "latency", latencyMs: 300, count: 1 });
    const started = performance.now();
    const response = await fetch(xeroEndpoints(sim.url).connections, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const quick = performance.now();
    await fetch(xeroEndpoints(sim.url).connections, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(performance.now() - quick).toBeLessThan(250);
  });

  it("fails the key set endpoint of one provider only, and recovers when the fault is spent", async () => {
    await control.addFault({ provider: "intuit", endpoint: "jwks", kind: "error", status: 503, count: 1 });
    expect((await fetch(oidcEndpoints(sim.url).jwksUri)).status).toBe(200);
    const failed = await fetch(intuitEndpoints(sim.url).jwksUri);
    expect(failed.status).toBe(503);
    const recovered = await fetch(intuitEndpoints(sim.url).jwksUri);
    expect(recovered.status).toBe(200);
    expect(((await recovered.json()) as { keys: unknown[] }).keys).toHaveLength(1);
    expect(await control.listFaults()).toEqual([]);
  });

  it("drops the response after rotating (Xero): the client sees a socket error, the old token recovers within grace", async () => {
    const tokens = await connectXero();
    const [before] = await control.listGrants({ token: tokens.refresh_token! });
    await control.addFault({ kind: "drop", grantId: before!.id, count: 1 });
    const error = (await rejection(xero.refresh(tokens))) as NodeJS.ErrnoException;
    expect(error.code).toBe("ECONNRESET");

    const [after] = await control.listGrants({ token: tokens.refresh_token! });
    expect(after!.currentRefreshTokenId).not.toBe(before!.currentRefreshTokenId);
    expect(after!.refreshTokens.find((t) => t.id === before!.currentRefreshTokenId)!.state).toBe("grace");

    const recovered = await xero.refresh(tokens);
    const [owner] = await control.listGrants({ token: recovered.refresh_token! });
    expect(owner!.currentRefreshTokenId).toBe(after!.currentRefreshTokenId);
    const stats = await control.stats();
    expect(stats.providers.xero).toMatchObject({ droppedResponses: 1, refreshSuccess: 2 });
  });

  it("drops the response (Intuit): intuit-oauth retries ECONNRESET and the overlap window makes it safe", async () => {
    const client = intuitSdk();
    const { refreshToken } = await connectIntuit(client);
    await control.advanceClock(25 * 3_600_000);
    await control.addFault({ provider: "intuit", kind: "drop", refreshToken, count: 1 });
    const result = (await client.refreshUsingToken(refreshToken)).getJson() as { refresh_token: string };
    expect(result.refresh_token).not.toBe(refreshToken);
    const [grant] = await control.listGrants({ token: result.refresh_token });
    expect(grant!.refreshTokens.map((t) => t.state)).toEqual(["grace", "current"]);
    expect((await control.stats()).providers.intuit.droppedResponses).toBe(1);
  });

  it("scopes faults to one grant and clears them on demand", async () => {
    const a = await connectXero();
    const b = await connectXero();
    const [grantA] = await control.listGrants({ token: a.refresh_token! });
    const fault = await control.addFault({ kind: "error", status: 500, grantId: grantA!.id });
    expect(fault.remaining).toBeNull();
    await xero.refresh(b);
    expect(((await rejection(xero.refresh(a))) as errors.OPError).error).toBe("server_error");
    expect(((await rejection(xero.refresh(a))) as errors.OPError).error).toBe("server_error");
    expect(await control.removeFault(fault.id)).toBe(true);
    await xero.refresh(a);
    expect((await control.getGrant(grantA!.id))!.counters).toMatchObject({ refreshSuccess: 1, refreshFailed: 2 });
  });

  it("revokes grants provider-side by id, realm or tenant", async () => {
    const intuit = intuitSdk();
    const { realmId, refreshToken } = await connectIntuit(intuit);
    const revoked = await control.revokeGrants({ realmId });
    expect(revoked.map((g) => g.revokedReason)).toEqual(["provider_revocation"]);
    expect(((await rejection(intuit.refreshUsingToken(refreshToken))) as { error: string }).error).toBe("invalid_grant");

    const tokens = await connectXero();
    const tenantId = ((await (await fetch(xeroEndpoints(sim.url).connections, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as Array<{ tenantId: string }>)[0]!.tenantId;
    expect(await control.revokeGrants({ tenantId })).toHaveLength(1);
    expect(((await rejection(xero.refresh(tokens))) as errors.OPError).error).toBe("invalid_grant");

    const other = await connectXero();
    const [grant] = await control.listGrants({ token: other.refresh_token!, status: "active" });
    expect((await control.revokeGrant(grant!.id)).status).toBe("revoked");
  });
});

describe("control API", () => {
  it("moves the clock for every process, including a separate OS process", async () => {
    const start = await control.clock();
    const script = `fetch(${JSON.stringify(`${sim.url}/__sim/clock/advance`)}, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ms: 3600000 }) }).then(r => r.json()).then(b => console.log(JSON.stringify(b)))`;
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", script]);
    expect((JSON.parse(stdout) as { offsetMs: number }).offsetMs).toBe(start.offsetMs + 3_600_000);
    expect((await sim.clock()).offsetMs).toBe(start.offsetMs + 3_600_000);
  });

  it("registers clients with their own redirect URIs", async () => {
    const registered = await control.registerClient({ provider: "intuit", redirectUris: ["https://app.example.com/cb"] });
    expect(registered.clientId).toMatch(/^sim-intuit-/);
    expect(registered.clientSecret).toBeTruthy();
    const base = `${intuitEndpoints(sim.url).authorizeEndpoint}?client_id=${registered.clientId}&response_type=code&scope=x&redirect_uri=`;
    expect((await fetch(base + encodeURIComponent("https://app.example.com/cb"))).status).toBe(200);
    expect((await fetch(base + encodeURIComponent("http://localhost:3000/cb"))).status).toBe(400);
    expect((await control.listClients()).map((c) => c.clientId)).toContain(registered.clientId);
    await control.reset();
    expect((await control.listClients()).map((c) => c.clientId)).not.toContain(registered.clientId);
  });

  it("rejects bad control input with a JSON error and answers unknown paths with 404/405", async () => {
    const error = await rejection(control.addFault({ kind: "error", status: 404 }));
    expect(error).toBeInstanceOf(SimulatorControlError);
    expect((error as SimulatorControlError).status).toBe(400);
    expect((error as SimulatorControlError).message).toMatch(/status/);

    const bad = await fetch(`${sim.url}/__sim/clock/advance`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid_request", error_description: "body is not valid JSON" });
    const missing = await fetch(`${sim.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
    const wrongMethod = await fetch(`${sim.url}/xero/identity/connect/token`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    expect(await control.getGrant("grant_nope")).toBeUndefined();
  });

  it("resets grants, faults, settings and the clock", async () => {
    await connectXero();
    await control.addFault({ kind: "latency", latencyMs: 1 });
    await control.updateSettings({ strict: true, autoApprove: true });
    await control.advanceClock(1000);
    await control.reset();
    expect(await control.listGrants()).toEqual([]);
    expect(await control.listFaults()).toEqual([]);
    expect((await control.getSettings()).strict).toBe(false);
    expect((await control.getSettings()).autoApprove).toEqual({ intuit: false, xero: false, oidc: false });
    expect((await control.clock()).offsetMs).toBe(0);
    expect((await control.stats()).totals.tokenEndpointCalls).toBe(0);
  });
});
