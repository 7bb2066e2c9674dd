// The slot algorithm (slot-store.ts) on PostgreSQL, for deployments without Redis: the same
// sorted sets as rows of "ProviderCallLease" (bucket, member, at, expiresAt), each take one
// transaction serialized per tenant by an advisory lock (and per app budget by a second one,
// always taken after the tenant's, so two tenants never wait on each other in a circle). Times
// come from the database's clock, one clock for every process. This module is the table's only writer.
import type { PrismaClient } from "@tokenvault/db";
import type { CallScope } from "./call-limiter";
import { slotKeys, POLL_MS, type SlotAnswer, type SlotRequest, type SlotStore } from "./slot-store";

const NO_RATES = { tenantRates: [], appRates: [] };

export class PostgresSlotStore implements SlotStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly prefix = "tokenvault",
  ) {}

  async tryTake({ scope, settings, id, waiterTtlMs }: SlotRequest): Promise<SlotAnswer> {
    const keys = slotKeys(scope, settings, this.prefix);
    const appKeys = keys.rates.filter((r) => !r.tenant).map((r) => r.key);
    const buckets = [keys.holders, keys.waiters, ...keys.rates.map((r) => r.key)];
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${keys.waiters}, 0))`;
      for (const key of appKeys) await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
      // Expired holders, waiters that stopped asking, admissions older than their budget's window.
      await tx.$executeRaw`DELETE FROM "ProviderCallLease" WHERE "bucket" = ANY(${buckets}) AND "expiresAt" <= clock_timestamp()`;
      const [me] = await tx.$queryRaw<{ now: Date }[]>`
        INSERT INTO "ProviderCallLease" ("bucket", "member", "at", "expiresAt")
        VALUES (${keys.waiters}, ${id}, clock_timestamp(), clock_timestamp() + make_interval(secs => ${waiterTtlMs / 1000}))
        ON CONFLICT ("bucket", "member") DO UPDATE SET "expiresAt" = EXCLUDED."expiresAt"
        RETURNING clock_timestamp() AS now`;
      const now = me!.now;
      const [counts] = await tx.$queryRaw<{ rank: bigint; holders: bigint }[]>`
        SELECT
          (SELECT count(*) FROM "ProviderCallLease" w, "ProviderCallLease" m
            WHERE w."bucket" = ${keys.waiters} AND m."bucket" = ${keys.waiters} AND m."member" = ${id}
              AND (w."at", w."member") < (m."at", m."member")) AS rank,
          (SELECT count(*) FROM "ProviderCallLease" WHERE "bucket" = ${keys.holders}) AS holders`;
      let free = settings.tenantConcurrency - Number(counts!.holders);
      let wait = free <= 0 ? POLL_MS : 0;
      const left: number[] = [];
      for (const rate of keys.rates) {
        const [log] = await tx.$queryRaw<{ used: bigint; oldest: Date | null }[]>`
          SELECT count(*) AS used, min("at") AS oldest FROM "ProviderCallLease" WHERE "bucket" = ${rate.key}`;
        const l = rate.points - Number(log!.used);
        left.push(l);
        free = Math.min(free, l);
        if (l <= 0 && log!.oldest) wait = Math.max(wait, log!.oldest.getTime() + rate.windowMs - now.getTime() + 1);
      }
      if (Number(counts!.rank) >= free) return { admitted: false as const, retryInMs: wait || POLL_MS };
      await tx.$executeRaw`DELETE FROM "ProviderCallLease" WHERE "bucket" = ${keys.waiters} AND "member" = ${id}`;
      await tx.$executeRaw`
        INSERT INTO "ProviderCallLease" ("bucket", "member", "at", "expiresAt")
        VALUES (${keys.holders}, ${id}, ${now}, ${new Date(now.getTime() + settings.leaseMs)})`;
      const remaining: Record<string, number> = {};
      for (const [i, rate] of keys.rates.entries()) {
        await tx.$executeRaw`
          INSERT INTO "ProviderCallLease" ("bucket", "member", "at", "expiresAt")
          VALUES (${rate.key}, ${id}, ${now}, ${new Date(now.getTime() + rate.windowMs)})`;
        if (rate.tenant) remaining[rate.name] = Math.max(0, left[i]! - 1) / rate.points;
      }
      return { admitted: true as const, remaining };
    });
  }

  async release(scope: CallScope, id: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM "ProviderCallLease" WHERE "bucket" = ${slotKeys(scope, NO_RATES, this.prefix).holders} AND "member" = ${id}`;
  }

  async leave(scope: CallScope, id: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM "ProviderCallLease" WHERE "bucket" = ${slotKeys(scope, NO_RATES, this.prefix).waiters} AND "member" = ${id}`;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
