import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TokenService } from "../src/token-service";
import { useHarness, REDIRECT, type Harness } from "./harness";

let h: Harness;
let service: TokenService;
useHarness((context) => ({ h, service } = context));

const MINUTE = 60_000;

/** Starts `n` connections for the company: n OAuthState rows. */
async function startConnects(companyId: string, n: number): Promise<string[]> {
  for (let i = 0; i < n; i++) await service.getAuthorizationUrl({ companyId, provider: "quickbooks", userId: "alice", redirectUri: REDIRECT("quickbooks") });
  const rows = await h.db.prisma.oAuthState.findMany({ where: { companyId }, orderBy: { createdAt: "asc" } });
  return rows.map((r) => r.id);
}

async function age(id: string, expiredMsAgo: number, used: boolean): Promise<void> {
  await h.db.prisma.oAuthState.update({ where: { id }, data: { expiresAt: new Date(Date.now() - expiredMsAgo), consumedAt: used ? new Date(Date.now() - expiredMsAgo - MINUTE) : null } });
}

describe("expired OAuth states are purged", () => {
  it("purgeExpiredOAuthStates() deletes unused expired states and used ones an hour past expiry, and keeps the rest", async () => {
    const company = `co-${randomUUID().slice(0, 8)}`;
    const [unusedExpired, usedLongAgo, usedRecently, live] = await startConnects(company, 4);
    await age(unusedExpired!, 1000, false);
    await age(usedLongAgo!, 61 * MINUTE, true);
    await age(usedRecently!, 5 * MINUTE, true);

    // Other test files share the database: the count covers their expired rows too.
    expect(await service.purgeExpiredOAuthStates()).toBeGreaterThanOrEqual(2);
    const left = await h.db.prisma.oAuthState.findMany({ where: { companyId: company } });
    expect(left.map((r) => r.id).sort()).toEqual([usedRecently!, live!].sort());
    expect(await h.db.prisma.oAuthState.count({ where: { companyId: company } })).toBe(2);
  });

  it("each connect also purges expired states", async () => {
    const company = `co-${randomUUID().slice(0, 8)}`;
    const [old] = await startConnects(company, 1);
    await age(old!, 1000, false);
    await service.getAuthorizationUrl({ companyId: `other-${company}`, provider: "quickbooks", userId: "bob", redirectUri: REDIRECT("quickbooks") });
    expect(await h.db.prisma.oAuthState.findUnique({ where: { id: old! } })).toBeNull();
  });
});
