import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TokenError } from "@tokenvault/vault";
import type { TokenService } from "../src/token-service";
import { useHarness, REDIRECT, type Harness } from "./harness";

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
    const before = await h.db.prisma.connection.findUniqueOrThrow({ where: { companyId_provider: { companyId: companyB, provider: "quickbooks" } }, include: { secrets: true } });

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

    const after = await h.db.prisma.connection.findUniqueOrThrow({ where: { companyId_provider: { companyId: companyB, provider: "quickbooks" } }, include: { secrets: true } });
    expect(after.externalId).toBe(before.externalId);
    expect(after.externalId).not.toBe(a.redirect.searchParams.get("realmId"));
    expect(after.version).toBe(before.version);
    expect(after.secrets.map((s) => s.ciphertext).sort()).toEqual(before.secrets.map((s) => s.ciphertext).sort());

    const failures = await h.db.prisma.auditLog.findMany({ where: { companyId: companyB, action: "CONNECT", outcome: "FAILURE" } });
    expect(failures.map((f) => f.details)).toEqual([{ reason: "nonce_mismatch" }]);
    // The grant the forged exchange produced is not left live at Intuit.
    const grants = await h.sim.listGrants({ realmId: a.redirect.searchParams.get("realmId")! });
    expect(grants.map((g) => g.status)).toEqual(["revoked"]);
  });
});
