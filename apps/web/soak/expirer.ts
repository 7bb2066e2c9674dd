// Makes tokens expire all along under `pnpm soak`, one expiry at a time per connection: the next
// only once the refresh for the last is stored. Then "exactly one refresh per expiry" is checkable:
// the provider's refreshes of the grant = the expiries = the refresh results stored.
import type { TokenService } from "@tokenvault/token";
import type { Direct } from "./direct";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RefreshTally {
  companyId: string;
  provider: string;
  expiries: number;
  providerRefreshes: number;
  storedResults: number;
  /** When the counts disagree: the connection's refresh audit rows and the refresh tokens the provider issued, by time. */
  timeline?: string[];
}

/** An admin call on the direct connection (not through the proxy), retried: the terminate fault drops its connections too. */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(200);
    }
  }
}

export class Expirer {
  private running = true;
  private readonly expiries = new Map<string, number>();
  /** Expiries the expirer could not make (its own database calls failed): reported, never counted. */
  failures = 0;

  constructor(
    private readonly h: Direct,
    private readonly connections: { companyId: string; provider: string }[],
  ) {
    for (const c of connections) this.expiries.set(this.key(c), 0);
  }

  private key(c: { companyId: string; provider: string }): string {
    return `${c.companyId}/${c.provider}`;
  }

  /** Refresh results stored: the REFRESH audit row is written with the new token set, in one transaction. */
  private stored(c: { companyId: string; provider: string }): Promise<number> {
    return this.h.db.prisma.auditLog.count({ where: { companyId: c.companyId, connectionType: c.provider, action: "REFRESH", outcome: "SUCCESS" } });
  }

  async run(): Promise<void> {
    while (this.running) {
      for (const c of this.connections) {
        if (!this.running) break;
        const stored = await retried(() => this.stored(c)).catch(() => -1);
        if (stored < this.expiries.get(this.key(c))!) continue;
        await retried(() => this.h.expireSoon(c.companyId, c.provider))
          .then(() => this.expiries.set(this.key(c), this.expiries.get(this.key(c))! + 1))
          .catch(() => this.failures++);
      }
      await sleep(2_000);
    }
  }

  stop(): void {
    this.running = false;
  }

  /** Every pending expiry consumed (a read inside the margin starts the refresh; idle() waits for it). */
  async consumePending(service: TokenService): Promise<void> {
    for (const c of this.connections) {
      await retried(() => service.getValidToken(c.companyId, c.provider, "soak-final"));
    }
    await service.idle();
  }

  async tally(): Promise<RefreshTally[]> {
    const tallies: RefreshTally[] = [];
    for (const c of this.connections) {
      const connection = await this.h.db.prisma.connection.findFirstOrThrow({ where: { companyId: c.companyId, provider: c.provider } });
      const grants = await this.h.sim.listGrants(c.provider === "xero" ? { tenantId: connection.externalId } : { realmId: connection.externalId });
      const providerRefreshes = grants.reduce((sum, grant) => sum + grant.counters.refreshSuccess, 0);
      const tally: RefreshTally = { ...c, expiries: this.expiries.get(this.key(c))!, providerRefreshes, storedResults: await this.stored(c) };
      if (tally.providerRefreshes !== tally.expiries || tally.storedResults !== tally.providerRefreshes) {
        const rows = await this.h.db.prisma.auditLog.findMany({ where: { companyId: c.companyId, connectionType: c.provider, action: "REFRESH" }, orderBy: { timestamp: "asc" } });
        tally.timeline = [
          ...rows.map((row) => `${row.timestamp.toISOString()} stored: REFRESH ${row.outcome} by ${row.userId}${row.errorMessage ? ` (${row.errorMessage})` : ""}`),
          ...grants.flatMap((grant) => grant.refreshTokens.map((token) => `${token.issuedAt} provider: refresh token issued (${token.state})`)),
        ]
          .sort()
          .slice(-30);
      }
      tallies.push(tally);
    }
    return tallies;
  }
}
