import { errors, Issuer, type BaseClient } from "./openid-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectSimulator, oidcEndpoints, SimulatorControlError, startSimulator, XERO_CLIENT_ID, XERO_CLIENT_SECRET, xeroEndpoints, type HttpSimulatorControl, type Simulator } from "../src/index";

let sim: Simulator;
/** Clients and counters go through the HTTP control API, as a test in another process would. */
let control: HttpSimulatorControl;
let issuer: Issuer;

/** A fresh confidential client with short-lived client_credentials tokens, and openid-client on it. */
async function serviceClient(accessTokenTtlSec = 2): Promise<{ id: string; secret: string; client: BaseClient }> {
  const registered = await control.registerClient({ provider: "oidc", accessTokenTtlSec });
  return { id: registered.clientId, secret: registered.clientSecret!, client: new issuer.Client({ client_id: registered.clientId, client_secret: registered.clientSecret! }) };
}

async function mints(clientId: string): Promise<number> {
  return (await control.stats()).clients[`oidc/${clientId}`]?.clientCredentialsIssued ?? 0;
}

function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(form) });
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

beforeAll(async () => {
  sim = await startSimulator();
  control = connectSimulator(sim.url);
  issuer = await Issuer.discover(oidcEndpoints(sim.url).issuer);
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe("client_credentials grant (generic OIDC provider)", () => {
  it("is advertised by discovery", () => {
    expect(issuer.metadata.grant_types_supported).toContain("client_credentials");
  });

  it("issues a bearer token with the client's lifetime and no refresh token, counting each mint", async () => {
    const { id, client } = await serviceClient(2);
    expect(await mints(id)).toBe(0);
    const first = await client.grant({ grant_type: "client_credentials", scope: "billing.read billing.write" });
    expect(first.token_type).toBe("Bearer");
    expect(first.expires_in).toBe(2);
    expect(first.refresh_token).toBeUndefined();
    expect(first.scope).toBe("billing.read billing.write");
    const second = await client.grant({ grant_type: "client_credentials" });
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.scope).toBeUndefined();
    expect(await mints(id)).toBe(2);
    const stats = await control.stats();
    expect(stats.providers.oidc.clientCredentialsIssued).toBe(2);
    expect(stats.totals.clientCredentialsIssued).toBe(2);
    expect(stats.clients[`oidc/${id}`]).toEqual({ provider: "oidc", clientId: id, clientCredentialsIssued: 2 });
  });

  it("takes client_secret_post too, and the provider's one-hour lifetime when the client sets none", async () => {
    const registered = await control.registerClient({ provider: "oidc" });
    const response = await post(oidcEndpoints(sim.url).tokenEndpoint, { grant_type: "client_credentials", client_id: registered.clientId, client_secret: registered.clientSecret! });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { expires_in: number }).expires_in).toBe(3600);
    expect(await mints(registered.clientId)).toBe(1);
  });

  it("tokens expire on the simulated clock", async () => {
    const { client } = await serviceClient(2);
    const token = await client.grant({ grant_type: "client_credentials" });
    const userinfo = () => fetch(oidcEndpoints(sim.url).userinfoEndpoint, { headers: { authorization: `Bearer ${token.access_token}` } });
    // Valid but for no user: 403 insufficient_scope, not 401.
    expect((await userinfo()).status).toBe(403);
    // The simulated clock is real time plus an offset: leave the real milliseconds room.
    await control.advanceClock(1_000);
    expect((await userinfo()).status).toBe(403);
    await control.advanceClock(1_000);
    const expired = await userinfo();
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: string }).error).toBe("invalid_token");
  });

  it("a client with wholeSecondExpiry gets tokens that die at the whole second, though expires_in gives the full lifetime", async () => {
    const registered = await control.registerClient({ provider: "oidc", accessTokenTtlSec: 2, wholeSecondExpiry: true });
    const client = new issuer.Client({ client_id: registered.clientId, client_secret: registered.clientSecret! });
    const second = Math.floor(Date.now() / 1000) * 1000 + 60_000;
    await control.setClock(second + 500); // issued half a second past a whole second
    const token = await client.grant({ grant_type: "client_credentials" });
    expect(token.expires_in).toBe(2);
    const userinfo = () => fetch(oidcEndpoints(sim.url).userinfoEndpoint, { headers: { authorization: `Bearer ${token.access_token}` } });
    await control.setClock(second + 1_500);
    expect((await userinfo()).status).toBe(403); // valid (for no user)
    // Received at +0.5 s with expires_in 2, yet dead at +2.0 s, not +2.5 s.
    await control.setClock(second + 2_100);
    expect((await userinfo()).status).toBe(401);
  });

  it("refuses bad credentials, public clients, user scopes and other providers, minting nothing", async () => {
    const { id, secret } = await serviceClient();
    const endpoint = oidcEndpoints(sim.url).tokenEndpoint;
    const wrong = await post(endpoint, { grant_type: "client_credentials" }, { authorization: basic(id, `${secret}x`) });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe("invalid_client");
    const user = await post(endpoint, { grant_type: "client_credentials", scope: "billing openid" }, { authorization: basic(id, secret) });
    expect(await user.json()).toMatchObject({ error: "invalid_scope" });
    const malformed = await post(endpoint, { grant_type: "client_credentials", scope: 'a"b' }, { authorization: basic(id, secret) });
    expect(await malformed.json()).toMatchObject({ error: "invalid_scope" });
    const pub = await control.registerClient({ provider: "oidc", public: true });
    const publicTry = await post(endpoint, { grant_type: "client_credentials", client_id: pub.clientId });
    expect(publicTry.status).toBe(400);
    expect(await publicTry.json()).toMatchObject({ error: "unauthorized_client" });
    const xero = await post(xeroEndpoints(sim.url).tokenEndpoint, { grant_type: "client_credentials" }, { authorization: basic(XERO_CLIENT_ID, XERO_CLIENT_SECRET) });
    expect(await xero.json()).toMatchObject({ error: "unsupported_grant_type" });
    expect(await mints(id)).toBe(0);
    expect((await control.stats()).totals.clientCredentialsIssued).toBe(0);
  });

  it("is subject to faults: an injected 503 mints nothing, a latency fault delays the answer", async () => {
    const { id, client } = await serviceClient();
    await control.addFault({ kind: "error", provider: "oidc", endpoint: "token", clientId: id, count: 1 });
    const failed = await client.grant({ grant_type: "client_credentials" }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(errors.OPError);
    expect(await mints(id)).toBe(0);
    await control.addFault({ kind: "latency", provider: "oidc", endpoint: "token", clientId: id, latencyMs: 300, count: 1 });
    const started = performance.now();
    await client.grant({ grant_type: "client_credentials" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(await mints(id)).toBe(1);
  });

  it("validates accessTokenTtlSec at the control API, and reset clears the counters", async () => {
    const bad = await control.registerClient({ provider: "oidc", accessTokenTtlSec: 0 }).catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(SimulatorControlError);
    expect((bad as SimulatorControlError).status).toBe(400);
    expect((bad as SimulatorControlError).message).toMatch(/accessTokenTtlSec/);
    const { id, client } = await serviceClient(5);
    expect((await control.listClients()).find((c) => c.clientId === id)?.accessTokenTtlSec).toBe(5);
    await client.grant({ grant_type: "client_credentials" });
    expect(await mints(id)).toBe(1);
    await control.reset();
    expect((await control.stats()).clients).toEqual({});
    expect((await control.stats()).totals.clientCredentialsIssued).toBe(0);
  });
});
