// Company API keys (the ApiKeys service behind /api/v1) on PostgreSQL: stored as prefix and hash
// only, bad input refused with nothing written, the cap held under concurrent creates, revocation
// and company scoping, lastUsedAt throttled, every change audited with the key's id.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDatabase, type Database } from "@tokenvault/db";
import { createKeyRing, Vault } from "@tokenvault/vault";
import { ProviderRegistry } from "../src/providers/registry";
import { TokenService } from "../src/token-service";
import { silentLogger } from "../src/logger";

describe("API keys", () => {
  let db: Database;
  let service: TokenService;
  let now = new Date("2026-12-07T10:00:00Z");
  const company = () => `apikeys-${randomUUID().slice(0, 8)}`;
  const admin = { userId: "alice" };

  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: inject("databaseUrl") });
    service = new TokenService({ prisma: db.prisma, vault: new Vault(createKeyRing(randomBytes(32))), providers: new ProviderRegistry([]), logger: silentLogger, clock: { now: () => now } });
  });
  afterAll(async () => {
    await service.close();
    await db.close();
  });

  it("answers the key once and stores only its prefix and SHA-256; creating is audited with the key's id", async () => {
    const companyId = company();
    const { apiKey, key } = await service.apiKeys.create({ companyId, name: " billing ", scopes: ["proxy", "connections:read", "proxy"] }, admin);
    expect(apiKey).toMatchObject({ name: "billing", scopes: ["connections:read", "proxy"], createdBy: "alice", lastUsedAt: null, revokedAt: null });
    expect(key.startsWith(`${apiKey.prefix}_`)).toBe(true);
    const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(JSON.stringify(row)).not.toContain(key.slice(apiKey.prefix.length + 1));
    expect(JSON.stringify(await service.apiKeys.list(companyId))).not.toContain(row.secretHash);
    const audit = await db.prisma.auditLog.findMany({ where: { companyId } });
    expect(audit).toEqual([expect.objectContaining({ action: "API_KEY", requestMethod: "POST", userId: "alice", details: { apiKeyId: apiKey.id, prefix: apiKey.prefix, scopes: "connections:read proxy" } })]);
    expect(JSON.stringify(audit)).not.toContain(key.slice(apiKey.prefix.length + 1));
  });

  it.each([
    ["no name", { name: "  ", scopes: ["proxy"] }],
    ["a name with a control character", { name: "a\u0000b", scopes: ["proxy"] }],
    ["a name over 100 characters", { name: "x".repeat(101), scopes: ["proxy"] }],
    ["no scope", { name: "k", scopes: [] }],
    ["an unknown scope", { name: "k", scopes: ["proxy", "admin"] }],
  ])("refuses %s with INVALID_INPUT and writes nothing", async (_label, input) => {
    const companyId = company();
    await expect(service.apiKeys.create({ companyId, ...input }, admin)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(await db.prisma.apiKey.count({ where: { companyId } })).toBe(0);
    expect(await db.prisma.auditLog.count({ where: { companyId } })).toBe(0);
  });

  it("holds the cap of 25 active keys under concurrent creates; a revoked key frees its place", async () => {
    const companyId = company();
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => service.apiKeys.create({ companyId, name: `k${i}`, scopes: ["proxy"] }, admin)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(25);
    expect(results.filter((r) => r.status === "rejected").map((r) => r.reason as { code: string }).every((e) => e.code === "INVALID_INPUT")).toBe(true);
    const first = (await service.apiKeys.list(companyId))[0]!;
    await service.apiKeys.revoke(companyId, first.id, admin);
    await expect(service.apiKeys.create({ companyId, name: "again", scopes: ["proxy"] }, admin)).resolves.toBeDefined();
  });

  it("authenticates the very key only; revocation (its own company's only, audited once) ends it at once", async () => {
    const companyId = company();
    const { apiKey, key } = await service.apiKeys.create({ companyId, name: "svc", scopes: ["tokens:read"] }, admin);
    expect(await service.apiKeys.authenticate(key)).toEqual({ keyId: apiKey.id, companyId, scopes: ["tokens:read"], userId: `apikey:${apiKey.id}` });
    const altered = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
    for (const wrong of [altered, key.slice(0, -1), "", `${key} `, key.toUpperCase()]) expect(await service.apiKeys.authenticate(wrong)).toBeNull();

    await expect(service.apiKeys.revoke(company(), apiKey.id, admin)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(service.apiKeys.revoke(companyId, "not-an-id", admin)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await service.apiKeys.authenticate(key)).not.toBeNull();
    const revoked = await service.apiKeys.revoke(companyId, apiKey.id, { userId: "carol" });
    expect(revoked.revokedAt).toEqual(now);
    expect(await service.apiKeys.authenticate(key)).toBeNull();
    await service.apiKeys.revoke(companyId, apiKey.id, admin);
    const deletes = await db.prisma.auditLog.findMany({ where: { companyId, action: "API_KEY", requestMethod: "DELETE" } });
    expect(deletes).toEqual([expect.objectContaining({ userId: "carol", details: { apiKeyId: apiKey.id, prefix: apiKey.prefix } })]);
  });

  it("records the last use at most once a minute", async () => {
    const companyId = company();
    const { apiKey, key } = await service.apiKeys.create({ companyId, name: "svc", scopes: ["proxy"] }, admin);
    const lastUsed = async () => {
      // Written off the answer's path: wait for it.
      for (let i = 0; i < 50; i++) {
        const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
        if (row.lastUsedAt?.getTime() === now.getTime() || i === 49) return row.lastUsedAt;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const start = now;
    await service.apiKeys.authenticate(key);
    expect(await lastUsed()).toEqual(start);
    now = new Date(start.getTime() + 30_000);
    await service.apiKeys.authenticate(key);
    await new Promise((r) => setTimeout(r, 200));
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).lastUsedAt).toEqual(start);
    now = new Date(start.getTime() + 61_000);
    await service.apiKeys.authenticate(key);
    expect(await lastUsed()).toEqual(now);
  });

  it("audits calls with the key's id, queued like token reads", async () => {
    const companyId = company();
    const { apiKey, key } = await service.apiKeys.create({ companyId, name: "svc", scopes: ["proxy"] }, admin);
    const principal = (await service.apiKeys.authenticate(key))!;
    service.apiKeys.recordCall(principal, { endpoint: "/api/v1/connections", method: "GET", status: 200, responseTimeMs: 3 }, { ipAddress: "192.0.2.1", userAgent: "curl/8" });
    service.apiKeys.recordCall(principal, { endpoint: "/api/v1/connections/{id}/token", method: "GET", status: 404, errorCode: "NOT_FOUND", responseTimeMs: 2 }, { ipAddress: null, userAgent: null });
    await new Promise((r) => setTimeout(r, 1_500));
    const rows = await db.prisma.auditLog.findMany({ where: { companyId, action: "API_CALL" }, orderBy: { responseStatus: "asc" } });
    expect(rows).toEqual([
      expect.objectContaining({ userId: `apikey:${apiKey.id}`, outcome: "SUCCESS", responseStatus: 200, ipAddress: "192.0.2.1", details: { apiKeyId: apiKey.id } }),
      expect.objectContaining({ userId: `apikey:${apiKey.id}`, outcome: "FAILURE", responseStatus: 404, details: { apiKeyId: apiKey.id, errorCode: "NOT_FOUND" } }),
    ]);
  });
});
