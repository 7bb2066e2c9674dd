import type { HealthStatus, PrismaClient } from "@tokenvault/db";
import { systemClock, type Clock } from "./clock";

export interface TokenServiceDeps {
  /** Resolves the Prisma client; lazy so importing the service opens nothing. */
  prisma: () => Promise<PrismaClient>;
  clock?: Clock;
}

export interface ConnectionHealthView {
  connectionType: string;
  status: HealthStatus;
  lastChecked: Date;
  errorMessage: string | null;
}

/**
 * The token service. It receives every dependency; `tokenService` in index.ts is only wiring.
 */
export class TokenService {
  private readonly prisma: () => Promise<PrismaClient>;
  readonly clock: Clock;

  constructor(deps: TokenServiceDeps) {
    this.prisma = deps.prisma;
    this.clock = deps.clock ?? systemClock;
  }

  /** Health of every connection a company has, as last recorded. Never calls a provider. */
  async listConnectionHealth(companyId: string): Promise<ConnectionHealthView[]> {
    const prisma = await this.prisma();
    const rows = await prisma.connectionHealth.findMany({
      where: { companyId },
      orderBy: { connectionType: "asc" },
      select: { connectionType: true, status: true, lastChecked: true, errorMessage: true },
    });
    return rows;
  }
}
