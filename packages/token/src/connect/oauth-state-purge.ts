import type { PrismaClient } from "@tokenvault/db";

/**
 * A used state keeps its code hash this long past its expiry, so a code exchanged under it is
 * still recognised if replayed (providers' codes live 10 minutes at most). An unused expired
 * state protects nothing and goes at once.
 */
export const USED_STATE_RETENTION_MS = 60 * 60_000;

/**
 * Deletes expired OAuthState rows in batches of `batch` (index on expiresAt), at most `maxBatches`
 * batches. Returns how many went. Part of connect/, which owns the OAuthState table.
 */
export async function purgeExpiredOAuthStates(prisma: PrismaClient, now: Date, options: { batch?: number; maxBatches?: number } = {}): Promise<number> {
  const batch = options.batch ?? 1000;
  const usedBefore = new Date(now.getTime() - USED_STATE_RETENTION_MS);
  let total = 0;
  for (let i = 0; i < (options.maxBatches ?? Number.POSITIVE_INFINITY); i++) {
    const deleted = await prisma.$executeRaw`
      DELETE FROM "OAuthState" WHERE "id" IN (
        SELECT "id" FROM "OAuthState"
         WHERE "expiresAt" <= ${now} AND ("consumedAt" IS NULL OR "expiresAt" <= ${usedBefore})
         LIMIT ${batch})`;
    total += deleted;
    if (deleted < batch) break;
  }
  return total;
}
