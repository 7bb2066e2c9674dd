// The slot algorithm (slot-store.ts) on PostgreSQL, for deployments without Redis: the same
// sorted sets as rows of "ProviderCallLease" (bucket, member, at, expiresAt). A take is one
// call of the function provider_call_take (migration 20261207000100_provider_call_leases): one
// round trip, serialized per tenant by an advisory lock (and per app budget by a second one,
// always taken after the tenant's, so two tenants never wait on each other in a circle). Times
// come from the database's clock, one clock for every process. This module is the table's only writer.
import type { PrismaClient } from "@tokenvault/db";
import type { CallLimitSettings, CallScope } from "./call-limiter";
import { slotKeys, type ReleaseRequest, type SlotAnswer, type SlotRequest, type SlotStore } from "./slot-store";

const NO_RATES = { tenantRates: [], appRates: [] };
/** A take here costs a transaction of several statements: waiters ask less often than on Redis. */
const PG_POLL_MS = 25;

export class PostgresSlotStore implements SlotStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly prefix = "tokenvault",
  ) {}

  async tryTake({ scope, settings, id, count, waiterTtlMs }: SlotRequest): Promise<SlotAnswer> {
    const keys = slotKeys(scope, settings, this.prefix);
    const rates = keys.rates;
    const [row] = await this.prisma.$queryRaw<{ reply: number[] }[]>`
      SELECT "provider_call_take"(
        ${keys.waiters}, ${keys.holders}, ${id}, ${count}::int, ${settings.tenantConcurrency}::int, ${settings.leaseMs}::int, ${waiterTtlMs}::int,
        ${rates.map((r) => r.key)}::text[], ${rates.map((r) => r.points)}::int[], ${rates.map((r) => r.windowMs)}::int[],
        ${rates.filter((r) => !r.tenant).map((r) => r.key)}::text[], ${PG_POLL_MS}::int) AS reply`;
    const reply = row!.reply;
    if (reply[0]! < 1) return { admitted: 0, remaining: {}, retryInMs: reply[1]! };
    const remaining: Record<string, number> = {};
    rates.forEach((rate, i) => {
      if (rate.tenant) remaining[rate.name] = Math.max(0, reply[i + 1]!) / rate.points;
    });
    return { admitted: reply[0]!, remaining, retryInMs: 0 };
  }

  async release({ scope, settings, id, unused }: ReleaseRequest): Promise<void> {
    const keys = slotKeys(scope, settings, this.prefix);
    if (unused) {
      await this.prisma.$executeRaw`DELETE FROM "ProviderCallLease" WHERE "bucket" = ANY(${[keys.holders, ...keys.rates.map((r) => r.key)]}::text[]) AND "member" = ${id}`;
      return;
    }
    await this.prisma.$executeRaw`
      WITH freed AS (DELETE FROM "ProviderCallLease" WHERE "bucket" = ${keys.holders} AND "member" = ${id})
      UPDATE "ProviderCallLease" l SET "at" = clock_timestamp(), "expiresAt" = clock_timestamp() + make_interval(secs => b.window_ms / 1000.0)
      FROM unnest(${keys.rates.map((r) => r.key)}::text[], ${keys.rates.map((r) => r.windowMs)}::int[]) AS b(key, window_ms)
      WHERE l."bucket" = b.key AND l."member" = ${id}`;
  }

  async usage(scope: CallScope, settings: CallLimitSettings): Promise<Record<string, number>> {
    const rates = slotKeys(scope, { tenantRates: settings.tenantRates, appRates: [] }, this.prefix).rates;
    const rows = await this.prisma.$queryRaw<{ bucket: string; used: number }[]>`
      SELECT "bucket", count(*)::int AS used FROM "ProviderCallLease"
      WHERE "bucket" = ANY(${rates.map((r) => r.key)}::text[]) AND "expiresAt" > clock_timestamp() GROUP BY "bucket"`;
    return Object.fromEntries(rates.map((r) => [r.name, rows.find((row) => row.bucket === r.key)?.used ?? 0]));
  }

  async renew({ scope, id, leaseMs }: { scope: CallScope; id: string; leaseMs: number }): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE "ProviderCallLease" SET "expiresAt" = clock_timestamp() + make_interval(secs => ${leaseMs}::int / 1000.0)
      WHERE "bucket" = ${slotKeys(scope, NO_RATES, this.prefix).holders} AND "member" = ${id} AND "expiresAt" > clock_timestamp()`;
  }

  async leave(scope: CallScope, id: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM "ProviderCallLease" WHERE "bucket" = ${slotKeys(scope, NO_RATES, this.prefix).waiters} AND "member" = ${id}`;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
