import { generators, Issuer, type BaseClient } from "./openid-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, oidcEndpoints, startSimulator, type Simulator } from "../src/index";
import { consent } from "./consent";
import { opError } from "./op-error";

const REDIRECT = "http://localhost:5173/auth/callback";
let sim: Simulator;
let client: BaseClient;

async function login() {
  const state = generators.state();
  const nonce = generators.nonce();
  const verifier = generators.codeVerifier();
  const url = client.authorizationUrl({ scope: "openid email offline_access", state, nonce, code_challenge: generators.codeChallenge(verifier), code_challenge_method: "S256" });
  const { location } = await consent(url);
  return client.callback(REDIRECT, client.callbackParams(location), { state, nonce, code_verifier: verifier });
}

beforeAll(async () => {
  sim = await startSimulator();
  const issuer = await Issuer.discover(oidcEndpoints(sim.url).issuer);
  client = new issuer.Client({ client_id: OIDC_CLIENT_ID, client_secret: OIDC_CLIENT_SECRET, redirect_uris: [REDIRECT] });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe("generic OpenID Connect provider", () => {
  it("requires PKCE S256 at the authorization endpoint", async () => {
    const plain = await fetch(client.authorizationUrl({ scope: "openid", state: "st" }), { redirect: "manual" });
    expect(plain.status).toBe(302);
    const url = new URL(plain.headers.get("location")!);
    expect(url.searchParams.get("error")).toBe("invalid_request");
    expect(url.searchParams.get("state")).toBe("st");
    const weak = await fetch(client.authorizationUrl({ scope: "openid", code_challenge: "x".repeat(43), code_challenge_method: "plain" }), { redirect: "manual" });
    expect(new URL(weak.headers.get("location")!).searchParams.get("error")).toBe("invalid_request");
  });

  it("logs in with a validated id_token and serves userinfo", async () => {
    const tokens = await login();
    expect(tokens.expires_in).toBeGreaterThan(3590);
    expect(tokens.claims().iss).toBe(oidcEndpoints(sim.url).issuer);
    const info = await client.userinfo(tokens);
    expect(info.sub).toBe(tokens.claims().sub);
    expect(info.email).toContain("@");
  });

  it("rotates the refresh token on every use with no grace", async () => {
    const first = await login();
    const second = await client.refresh(first);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await opError(client.refresh(first.refresh_token!))).error).toBe("invalid_grant");
    const third = await client.refresh(second);
    expect(third.refresh_token).not.toBe(second.refresh_token);
  });

  it("revokes per RFC 7009: an access token alone, or the whole grant through the refresh token", async () => {
    const tokens = await login();
    await client.revoke(tokens.access_token!, "access_token");
    const denied = await opError(client.userinfo(tokens.access_token!));
    expect(denied.error).toBe("invalid_token");
    const refreshed = await client.refresh(tokens);
    await client.revoke(refreshed.refresh_token!, "refresh_token");
    expect((await opError(client.refresh(refreshed))).error).toBe("invalid_grant");
    expect((await opError(client.userinfo(refreshed.access_token!))).error).toBe("invalid_token");
    // Unknown tokens are not an error.
    await client.revoke("never-issued");
  });

  it("expires access tokens after an hour on the simulated clock", async () => {
    const tokens = await login();
    await sim.advanceClock(3_600_000);
    expect((await opError(client.userinfo(tokens.access_token!))).error).toBe("invalid_token");
  });
});
