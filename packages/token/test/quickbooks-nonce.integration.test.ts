import { createSign, generateKeyPairSync, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import type { FaultSpec } from "@tokenvault/simulator";
import { ProviderCallError } from "../src/oauth/token-client";
import { simulatedQuickbooks, SIMULATOR_CLIENTS } from "../src/providers/simulated";
import type { TokenService } from "../src/token-service";
import { useHarness, REDIRECT, TEST_OPTIONS, type Harness } from "./harness";

let h: Harness;
let service: TokenService;
useHarness((context) => ({ h, service } = context));

/** Starts a QuickBooks connection and walks the (auto-approved) consent: the redirect back, not yet delivered. */
async function consent(companyId: string, userId: string): Promise<{ authorizeUrl: URL; redirect: URL }> {
  const { url } = await service.getAuthorizationUrl({ companyId, provider: "quickbooks", userId, redirectUri: REDIRECT("quickbooks") });
  const response = await fetch(url, { redirect: "manual" });
  const location = response.headers.get("location");
  if (response.status !== 302 || !location) throw new Error(`consent did not redirect: ${response.status}`);
  return { authorizeUrl: new URL(url), redirect: new URL(location) };
}

describe("QuickBooks: a code is bound to its consent request by the OpenID Connect nonce", () => {
  it("asks for openid with a nonce, and connects when the id_token carries it", async () => {
    const company = `co-${randomUUID().slice(0, 8)}`;
    const { authorizeUrl, redirect } = await consent(company, "alice");
    expect(authorizeUrl.searchParams.get("scope")?.split(" ")).toContain("openid");
    expect(authorizeUrl.searchParams.get("nonce")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    await service.handleCallback({ provider: "quickbooks", callbackUrl: redirect.toString(), companyId: company, context: { userId: "alice" } });
    expect((await service.getValidToken(company, "quickbooks", "alice")).externalId).toBe(redirect.searchParams.get("realmId"));
  });

  it("refuses company A's code replayed with company B's state: typed error, B unchanged, A's grant revoked, audited", async () => {
    const companyA = `co-a-${randomUUID().slice(0, 8)}`;
    const companyB = `co-b-${randomUUID().slice(0, 8)}`;
    const a = await consent(companyA, "mallory");
    const b = await consent(companyB, "bob");
    // B already has a connection: the replay must not repoint it.
    await service.handleCallback({ provider: "quickbooks", callbackUrl: (await consent(companyB, "bob")).redirect.toString(), companyId: companyB, context: { userId: "bob" } });
    const before = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: companyB, provider: "quickbooks" }, include: { secrets: true, connections: true } });

    const forged = new URL(REDIRECT("quickbooks"));
    forged.searchParams.set("code", a.redirect.searchParams.get("code")!);
    forged.searchParams.set("state", b.redirect.searchParams.get("state")!);
    forged.searchParams.set("realmId", a.redirect.searchParams.get("realmId")!);
    const error = await service.handleCallback({ provider: "quickbooks", callbackUrl: forged.toString(), companyId: companyB, context: { userId: "bob" } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).code).toBe("INVALID_STATE");

    const after = await h.db.prisma.oAuthGrant.findFirstOrThrow({ where: { companyId: companyB, provider: "quickbooks" }, include: { secrets: true, connections: true } });
    expect(after.connections.map((c) => [c.id, c.externalId])).toEqual(before.connections.map((c) => [c.id, c.externalId]));
    expect(after.connections.map((c) => c.externalId)).not.toContain(a.redirect.searchParams.get("realmId"));
    expect(await h.db.prisma.connection.count({ where: { companyId: companyB } })).toBe(1);
    expect(after.version).toBe(before.version);
    expect(after.secrets.map((s) => s.ciphertext).sort()).toEqual(before.secrets.map((s) => s.ciphertext).sort());

    const failures = await h.db.prisma.auditLog.findMany({ where: { companyId: companyB, action: "CONNECT", outcome: "FAILURE" } });
    expect(failures.map((f) => f.details)).toEqual([{ reason: "nonce_mismatch" }]);
    // The grant the forged exchange produced is not left live at Intuit.
    const grants = await h.sim.listGrants({ realmId: a.redirect.searchParams.get("realmId")! });
    expect(grants.map((g) => g.status)).toEqual(["revoked"]);
  });
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (e: unknown) => e,
  );
}

/** An id_token with Intuit's claims and the simulator's key id, signed by a key that is not the simulator's. */
async function forgedIdToken(jwksUrl: string): Promise<string> {
  const { keys } = (await (await fetch(jwksUrl)).json()) as { keys: { kid: string }[] };
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const header = part({ alg: "RS256", kid: keys[0]!.kid, typ: "JWT" });
  const payload = part({ iss: "https://oauth.platform.intuit.com/op/v1", aud: [SIMULATOR_CLIENTS.quickbooks.clientId], sub: "u", iat: now, exp: now + 600, nonce: "n", realmid: "1" });
  const signature = createSign("RSA-SHA256").update(`${header}.${payload}`).sign(privateKey).toString("base64url");
  return `${header}.${payload}.${signature}`;
}

describe("QuickBooks: Intuit's keys unreachable while verifying the id_token", () => {
  const faults: [string, FaultSpec][] = [
    ["answering 503", { kind: "error", provider: "intuit", endpoint: "jwks", status: 503 }],
    ["not answering within the provider timeout", { kind: "latency", provider: "intuit", endpoint: "jwks", latencyMs: TEST_OPTIONS.providerTimeoutMs! + 1_500, count: 1 }],
    ["dropping the connection", { kind: "drop", provider: "intuit", endpoint: "jwks" }],
  ];
  it.each(faults)("the key set %s: PROVIDER_UNAVAILABLE, nothing stored, the grant revoked, audited", async (_, fault) => {
    const company = `co-${randomUUID().slice(0, 8)}`;
    const { redirect } = await consent(company, "alice");
    await h.sim.addFault(fault);
    const error = await rejection(service.handleCallback({ provider: "quickbooks", callbackUrl: redirect.toString(), companyId: company, context: { userId: "alice" } }));
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).code).toBe("PROVIDER_UNAVAILABLE");
    expect((error as TokenError).message).toMatch(/could not be reached to verify .*sign-in.*try .*again/i);

    expect(await h.db.prisma.connection.count({ where: { companyId: company } })).toBe(0);
    expect(await h.db.prisma.tokenSecret.count({ where: { companyId: company } })).toBe(0);
    // It cannot be bound to the request that started it, so it is not kept live at Intuit.
    const grants = await h.sim.listGrants({ realmId: redirect.searchParams.get("realmId")! });
    expect(grants.map((g) => g.status)).toEqual(["revoked"]);
    const failures = await h.db.prisma.auditLog.findMany({ where: { companyId: company, action: "CONNECT", outcome: "FAILURE" } });
    expect(failures.map((f) => f.details)).toEqual([{ reason: "id_token_unverifiable_provider_unavailable" }]);

    // Trying again once Intuit answers connects.
    await h.sim.clearFaults();
    await service.handleCallback({ provider: "quickbooks", callbackUrl: (await consent(company, "alice")).redirect.toString(), companyId: company, context: { userId: "alice" } });
    expect(await h.db.prisma.connection.count({ where: { companyId: company } })).toBe(1);
  });

  it("the adapter says which: keys unreachable is a provider call failure, a signature by another key is not", async () => {
    const adapter = simulatedQuickbooks(h.sim.url);
    const forged = await forgedIdToken(adapter.endpoints.jwks!);
    const notVerified = await rejection(adapter.verifyIdToken!(forged, 2_000));
    expect(notVerified).toBeInstanceOf(Error);
    expect(notVerified).not.toBeInstanceOf(ProviderCallError);

    await h.sim.addFault({ kind: "error", provider: "intuit", endpoint: "jwks", status: 502 });
    const unavailable = await rejection(adapter.verifyIdToken!(forged, 2_000));
    expect(unavailable).toBeInstanceOf(ProviderCallError);
    expect(unavailable).toMatchObject({ kind: "server_error", status: 502 });
  });
});
