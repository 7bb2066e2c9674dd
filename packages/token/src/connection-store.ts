import type { Connection, Prisma, PrismaClient, TokenKind, TokenSecret } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { ProviderTenant } from "./types";

export type ConnectionWithSecrets = Connection & { secrets: TokenSecret[] };

export interface ConnectionMetadata {
  tenants?: ProviderTenant[];
  scope?: string;
  /** When the refresh token value last changed, for the provider's grace window. */
  refreshTokenRotatedAt?: string;
}

export function metadataOf(connection: Connection): ConnectionMetadata {
  const value = connection.metadata;
  return value && typeof value === "object" && !Array.isArray(value) ? (value) : {};
}

export function secretOf(connection: ConnectionWithSecrets, kind: TokenKind): TokenSecret | undefined {
  return connection.secrets.find((s) => s.kind === kind);
}

/**
 * The database side of refresh: reading a connection with its sealed secrets, the lease
 * (a conditional UPDATE) and the fence (the version column checked on every write).
 */
export class ConnectionStore {
  constructor(private readonly prisma: () => Promise<PrismaClient>) {}

  async load(companyId: string, provider: string): Promise<ConnectionWithSecrets | null> {
    const prisma = await this.prisma();
    return prisma.connection.findUnique({
      where: { companyId_provider: { companyId, provider } },
      include: { secrets: true },
    });
  }

  /** The connection, or NO_TOKEN when the provider is not connected. */
  async require(companyId: string, provider: string): Promise<ConnectionWithSecrets> {
    const connection = await this.load(companyId, provider);
    if (!connection) throw new TokenError("NO_TOKEN", "This provider is not connected.");
    return connection;
  }

  async listForCompany(companyId: string): Promise<ConnectionWithSecrets[]> {
    const prisma = await this.prisma();
    return prisma.connection.findMany({ where: { companyId }, include: { secrets: true } });
  }

  /**
   * Claims the refresh lease if nobody holds a live one. Returns the version the holder must
   * present when it writes, or null when another holder has it. Expiry is PostgreSQL's clock,
   * the one clock every process shares: an app server whose clock runs fast cannot take a live lease.
   */
  async claimLease(connectionId: string, owner: string, leaseMs: number): Promise<number | null> {
    const prisma = await this.prisma();
    const rows = await prisma.$queryRaw<{ version: number }[]>`
      UPDATE "Connection"
         SET "leaseOwner" = ${owner}, "leaseExpiresAt" = clock_timestamp() + make_interval(secs => ${leaseMs / 1000}::float8)
       WHERE "id" = ${connectionId}::uuid
         AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" <= clock_timestamp())
      RETURNING "version"`;
    return rows[0]?.version ?? null;
  }

  /**
   * The fence: bumps the version and drops the lease only if this holder still owns the
   * version it claimed. Runs inside the caller's transaction; false means the write must abort.
   */
  async fence(
    tx: Prisma.TransactionClient,
    connectionId: string,
    owner: string,
    version: number,
    data: { cooldownUntil?: Date | null; metadata?: ConnectionMetadata; externalId?: string },
  ): Promise<boolean> {
    const { count } = await tx.connection.updateMany({
      where: { id: connectionId, version, leaseOwner: owner },
      data: {
        version: { increment: 1 },
        leaseOwner: null,
        leaseExpiresAt: null,
        ...(data.cooldownUntil !== undefined ? { cooldownUntil: data.cooldownUntil } : {}),
        ...(data.metadata !== undefined ? { metadata: data.metadata as Prisma.InputJsonValue } : {}),
        ...(data.externalId !== undefined ? { externalId: data.externalId } : {}),
      },
    });
    return count === 1;
  }

  /** Gives a lease back without writing (nothing changed). */
  async releaseLease(connectionId: string, owner: string): Promise<void> {
    const prisma = await this.prisma();
    await prisma.connection.updateMany({ where: { id: connectionId, leaseOwner: owner }, data: { leaseOwner: null, leaseExpiresAt: null } });
  }
}
