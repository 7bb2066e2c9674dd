import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oidcEndpoints, startSimulator, type Simulator } from "@tokenvault/simulator";
import { clientCredentialsMinter, createRedisStoreLock, createRedisTokenStore, createServiceTokens, ServiceTokenError, type ClientCredentialsConfig } from "../src/index";
import { testVault } from "./conformance";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const never = new AbortController().signal;
let sim: Simulator;

async function mintError(config: ClientCredentialsConfig): Promise<ServiceTokenError> {
  const error = await clientCredentialsMinter(config)({ name: "default", signal: never }).catch((e: unknown) => e);
  if (!(error instanceof ServiceTokenError)) throw new Error(`expected a ServiceTokenError, got ${String(error)}`);
  return error;
}

async function serviceClient(accessTokenTtlSec: number): Promise<ClientCredentialsConfig> {
  const client = await sim.registerClient({ provider: "oidc", accessTokenTtlSec });
  return { tokenEndpoint: oidcEndpoints(sim.url).tokenEndpoint, clientId: client.clientId, clientSecret: client.clientSecret! };
}

const mints = async (clientId: string) => (await sim.stats()).clients[`oidc/${clientId}`]?.clientCredentialsIssued ?? 0;

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());

describe("the client_credentials minter, against the simulator", () => {
  it("mints with HTTP Basic or the secret in the body, honouring expires_in from when the request left", async () => {
    const config = await serviceClient(120);
    for (const auth of ["client_secret_basic", "client_secret_post"] as const) {
      const before = Date.now();
      const minted = await clientCredentialsMinter({ ...config, auth, scope: "billing.read" })({ name: "default", signal: never });
      expect(minted.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(minted.issuedAt!.getTime()).toBeGreaterThanOrEqual(before);
      expect(minted.expiresAt.getTime() - minted.issuedAt!.getTime()).toBe(120_000);
    }
    expect(await mints(config.clientId)).toBe(2);
  });

  it("turns refusals into MINT_FAILED with the status and OAuth error, never the secret", async () => {
    const config = await serviceClient(60);
    const wrong = await mintError({ ...config, clientSecret: "not-the-secret" });
    expect(wrong).toMatchObject({ code: "MINT_FAILED", status: 401, oauthError: "invalid_client" });
    expect(wrong.message).not.toContain("not-the-secret");
    await sim.addFault({ kind: "rate_limit", provider: "oidc", clientId: config.clientId, retryAfterSeconds: 90, count: 1 });
    expect(await mintError(config)).toMatchObject({ code: "MINT_FAILED", status: 429, retryAfterMs: 90_000 });
    await sim.addFault({ kind: "error", provider: "oidc", clientId: config.clientId, status: 503, count: 1 });
    expect(await mintError(config)).toMatchObject({ code: "MINT_FAILED", status: 503 });
    expect(await mints(config.clientId)).toBe(0);
  });

  it("gives up after its timeout with MINT_TIMEOUT", async () => {
    const config = await serviceClient(60);
    await sim.addFault({ kind: "latency", provider: "oidc", clientId: config.clientId, latencyMs: 1_000, count: 1 });
    const started = performance.now();
    expect((await mintError({ ...config, timeoutMs: 150 })).code).toBe("MINT_TIMEOUT");
    expect(performance.now() - started).toBeLessThan(900);
    expect((await mintError({ ...config, tokenEndpoint: "http://127.0.0.1:1/token" })).detail).toBe("the token endpoint cannot be reached");
  });
});

describe("the client_credentials minter's request and answers (a capturing endpoint)", () => {
  let server: Server;
  let url: string;
  let seen: { authorization?: string; body: string } = { body: "" };
  let answer: { status: number; body: string } = { status: 200, body: "{}" };
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        seen = { authorization: req.headers.authorization, body };
        res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends the grant, scope and audience, form-encoding the Basic credentials (RFC 6749 §2.3.1)", async () => {
    answer = { status: 200, body: JSON.stringify({ access_token: "abc.def-ghi", token_type: "bearer", expires_in: 30 }) };
    const minted = await clientCredentialsMinter({ tokenEndpoint: url, clientId: "svc:a b", clientSecret: "p@ss:word", scope: "a b", audience: "https://api.example.com" })({ name: "x", signal: never });
    expect(minted.token).toBe("abc.def-ghi");
    expect(Object.fromEntries(new URLSearchParams(seen.body))).toEqual({ grant_type: "client_credentials", scope: "a b", audience: "https://api.example.com" });
    expect(Buffer.from(seen.authorization!.replace(/^Basic /, ""), "base64").toString()).toBe("svc%3Aa%20b:p%40ss%3Aword");
  });

  it("assumes the default lifetime without expires_in, and refuses non-bearer or malformed tokens", async () => {
    const config = { tokenEndpoint: url, clientId: "svc", clientSecret: "secret", defaultExpiresInSec: 42 };
    answer = { status: 200, body: JSON.stringify({ access_token: "tok-without-expiry" }) };
    const minted = await clientCredentialsMinter(config)({ name: "x", signal: never });
    expect(minted.expiresAt.getTime() - minted.issuedAt!.getTime()).toBe(42_000);
    answer = { status: 200, body: JSON.stringify({ access_token: "tok", token_type: "DPoP", expires_in: 30 }) };
    expect((await mintError(config)).detail).toMatch(/not a bearer token/);
    answer = { status: 200, body: JSON.stringify({ access_token: "two words", expires_in: 30 }) };
    expect((await mintError(config)).detail).toMatch(/access_token contains whitespace/);
    answer = { status: 200, body: "<html>" };
    expect((await mintError(config)).detail).toMatch(/not JSON/);
    answer = { status: 400, body: JSON.stringify({ error: "invalid_scope", error_description: "echoing secret" }) };
    expect(await mintError(config)).toMatchObject({ status: 400, oauthError: "invalid_scope" });
  });
});

describe("service tokens end to end: Redis store and lock, the simulator's client_credentials", () => {
  it("shares one sealed token between processes' instances; Redis never holds it readable", async () => {
    const prefix = `test:${randomBytes(6).toString("hex")}`;
    const vault = testVault();
    const clients = await Promise.all([0, 1, 2].map(() => createClient({ url: REDIS_URL }).connect()));
    try {
      const config = await serviceClient(600);
      const instances = clients.slice(0, 2).map((client) =>
        createServiceTokens({
          store: createRedisTokenStore(client, { vault, prefix }),
          lock: createRedisStoreLock(client, { prefix }),
          clientCredentials: config,
          envToken: null,
          logger: { info: () => {}, warn: () => {} },
        }),
      );
      const tokens = await Promise.all(instances.flatMap((s) => [s.getServiceToken(), s.getServiceToken()]));
      expect(new Set(tokens).size).toBe(1);
      expect(await mints(config.clientId)).toBe(1);
      const dump: string[] = [];
      const redis = clients[2]!;
      for await (const keys of redis.scanIterator({ MATCH: `${prefix}:*` })) {
        for (const key of keys) {
          const type = await redis.type(key);
          dump.push(key, JSON.stringify(type === "hash" ? await redis.hGetAll(key) : type === "zset" ? await redis.zRange(key, 0, -1) : await redis.get(key)));
        }
      }
      expect(dump.join("\n")).toMatch(/tv1\./);
      for (const form of [tokens[0]!, Buffer.from(tokens[0]!).toString("base64")]) expect(dump.join("\n")).not.toContain(form);
      for await (const keys of redis.scanIterator({ MATCH: `${prefix}:*` })) if (keys.length > 0) await redis.del(keys);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
