import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expiresAtFrom } from "../providers/types";
import { ProviderCallError, requestToken } from "./token-client";

// A real HTTP token endpoint that answers whatever the test sets: providers can send values
// the simulator (which follows their documentation) never would.
let reply: { status: number; headers?: Record<string, string>; body: string } = { status: 200, body: "{}" };
let server: Server;
let url: string;
const client = { clientId: "c", clientSecret: "s", auth: "client_secret_basic" as const };

beforeAll(async () => {
  server = createServer((_request, response) => {
    response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
    response.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function failure(): Promise<ProviderCallError> {
  try {
    await requestToken(url, client, { grant_type: "refresh_token", refresh_token: "r" }, 2_000);
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderCallError);
    return error as ProviderCallError;
  }
  throw new Error("expected the token call to fail");
}

describe("token responses from a provider", () => {
  it("caps absurd lifetimes so every expiry stays a valid date", async () => {
    reply = { status: 200, body: JSON.stringify({ access_token: "a", refresh_token: "r", expires_in: 1e13, x_refresh_token_expires_in: 1e300 }) };
    const response = await requestToken(url, client, { grant_type: "refresh_token", refresh_token: "r" }, 2_000);
    expect(response.expires_in).toBe(10 * 365 * 24 * 3600);
    expect(Number.isNaN(expiresAtFrom(new Date(), response, 3600).getTime())).toBe(false);
    reply = { status: 200, body: JSON.stringify({ access_token: "a", expires_in: -5 }) };
    expect((await requestToken(url, client, { grant_type: "refresh_token", refresh_token: "r" }, 2_000)).expires_in).toBeUndefined();
  });

  it("refuses tokens the vault could not store as the provider's error, before anything is stored", async () => {
    reply = { status: 200, body: '{"access_token":"\\ud800","refresh_token":"r"}' };
    expect(await failure()).toMatchObject({ kind: "server_error", oauthError: "malformed_access_token" });
    reply = { status: 200, body: JSON.stringify({ access_token: "a", refresh_token: "x".repeat(40_000) }) };
    expect(await failure()).toMatchObject({ kind: "server_error", oauthError: "malformed_refresh_token" });
    reply = { status: 200, body: "[1,2]" };
    expect(await failure()).toMatchObject({ kind: "server_error" });
  });

  it("caps Retry-After at an hour", async () => {
    reply = { status: 429, headers: { "retry-after": "99999999999999" }, body: "{}" };
    expect(await failure()).toMatchObject({ kind: "rate_limited", retryAfterMs: 3_600_000 });
  });
});
