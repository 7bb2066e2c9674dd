import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connectSimulator, oidcEndpoints, startSimulator, type HttpSimulatorControl, type Simulator } from "../src/index";

let sim: Simulator;
let control: HttpSimulatorControl;
let issuer: string;
type Key = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let key: Key;
let otherKey: Key;
let publicJwk: JWK;

beforeAll(async () => {
  sim = await startSimulator();
  control = connectSimulator(sim.url);
  issuer = oidcEndpoints(sim.url).issuer;
  ({ privateKey: key } = await generateKeyPair("ES256", { extractable: true }));
  publicJwk = { ...(await exportJWK(key)), kid: "k1" };
  delete publicJwk.d;
  ({ privateKey: otherKey } = await generateKeyPair("ES256"));
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

function assertion(clientId: string, claims: Record<string, unknown> = {}, signWith: Key = key): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: clientId, sub: clientId, aud: issuer, jti: randomUUID(), iat: now, exp: now + 60, ...claims }).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(signWith);
}

function token(form: Record<string, string>): Promise<Response> {
  return fetch(`${issuer}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "client_credentials", client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", ...form }) });
}

describe("private_key_jwt client authentication (generic OIDC provider)", () => {
  it("is advertised by discovery", async () => {
    const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint_auth_methods_supported: string[] };
    expect(metadata.token_endpoint_auth_methods_supported).toContain("private_key_jwt");
  });

  it("accepts an assertion signed by the client's registered key, addressed to the issuer or the token endpoint, once", async () => {
    const { clientId } = await control.registerClient({ provider: "oidc", jwks: [publicJwk] });
    const signed = await assertion(clientId);
    expect((await token({ client_assertion: signed })).status).toBe(200);
    expect((await token({ client_assertion: await assertion(clientId, { aud: `${issuer}/token` }) })).status).toBe(200);
    const replay = await token({ client_assertion: signed });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: "invalid_client", error_description: "client assertion was already used (jti)" });
  });

  it("refuses a wrong signature, audience, issuer, an expired assertion, one without jti, and a client with no keys", async () => {
    const { clientId } = await control.registerClient({ provider: "oidc", jwks: [publicJwk] });
    const { clientId: keyless } = await control.registerClient({ provider: "oidc" });
    const now = Math.floor(Date.now() / 1000);
    const refused = [
      await assertion(clientId, {}, otherKey),
      await assertion(clientId, { aud: "https://elsewhere.example/token" }),
      await assertion(clientId, { sub: "someone-else" }),
      await assertion(clientId, { iat: now - 600, exp: now - 300 }),
      await assertion(clientId, { jti: undefined }),
      await assertion(keyless),
    ];
    for (const signed of refused) {
      const response = await token({ client_assertion: signed });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_client");
    }
    expect((await control.stats()).totals.clientCredentialsIssued).toBe(0);
  });

  it("refuses a registered private key", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    await expect(control.registerClient({ provider: "oidc", jwks: [await exportJWK(privateKey)] })).rejects.toThrow();
  });

  it("holds a client to its registered token_endpoint_auth_method", async () => {
    const { clientId, clientSecret } = await control.registerClient({ provider: "oidc", tokenEndpointAuthMethod: "client_secret_post" });
    const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
    const form = (extra: Record<string, string>) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "client_credentials", ...extra }) });
    expect((await fetch(`${issuer}/token`, form({ client_id: clientId, client_secret: clientSecret! }))).status).toBe(200);
    const refused = await fetch(`${issuer}/token`, { ...form({}), headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: "invalid_client", error_description: "this client is registered for another authentication method" });
  });
});
