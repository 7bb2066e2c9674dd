import { Prisma, type HealthStatus, type PrismaClient, type TokenKind } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { AuditEvent, AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../types";
import type { ConnectionMetadata, ConnectionWithSecrets } from "./connection";
import { toConnection, WITH_SECRETS, type ConnectionRow } from "./connection-rows";

export type Tx = Prisma.TransactionClient;

/** What happened to a connection: its audit row, and its health when the outcome says something about it. */
export interface Outcome {
  event: AuditEvent;
  context: RequestContext;
  at: Date;
  health?: { status: HealthStatus; errorMessage: string | null };
}

/** Kinds that belong to an OAuth grant (static secrets have no connection). */
const GRANT_KINDS: TokenKind[] = ["ACCESS_TOKEN", "REFRESH_TOKEN", "PREVIOUS_REFRESH_TOKEN"];

/**
 * The only code that writes `Connection`, the state of `TokenSecret` rows and `ConnectionHealth`.
 * (Sealed values are written by SecretStore.) Holds the refresh lease (a conditional UPDATE),
 * the fence (the version checked and bumped on every write of a token set) and `recordOutcome`,
 * which writes a health row and its audit row in the caller's transaction. A refresh's write
 * is one statement (writeRefresh) composed of each table owner's SQL.
 */
export class ConnectionStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditTrail,
  ) {}

  /** Runs `fn` in one transaction. Never call a provider inside it. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  // --- Reading -------------------------------------------------------------------------

  /** The connection and its secrets, in one round trip. */
  async load(companyId: string, provider: string): Promise<ConnectionWithSecrets | null> {
    const rows = await this.prisma.$queryRaw<ConnectionRow[]>`
      SELECT ${WITH_SECRETS} FROM "Connection" c WHERE c."companyId" = ${companyId} AND c."provider" = ${provider}`;
    return rows[0] ? toConnection(rows[0]) : null;
  }

  /** The connection named by id and its secrets, in one round trip (the background worker's jobs name connections by id). */
  async loadById(connectionId: string): Promise<ConnectionWithSecrets | null> {
    const rows = await this.prisma.$queryRaw<ConnectionRow[]>`
      SELECT ${WITH_SECRETS} FROM "Connection" c WHERE c."id" = ${connectionId}::uuid`;
    return rows[0] ? toConnection(rows[0]) : null;
  }

  /** The connection, or NO_TOKEN when the provider is not connected. */
  async require(companyId: string, provider: string): Promise<ConnectionWithSecrets> {
    const connection = await this.load(companyId, provider);
    if (!connection) throw new TokenError("NO_TOKEN", "This provider is not connected.");
    return connection;
  }

  listForCompany(companyId: string): Promise<ConnectionWithSecrets[]> {
    return this.prisma.connection.findMany({ where: { companyId }, include: { secrets: true } });
  }

  listHealth(companyId: string) {
    return this.prisma.connectionHealth.findMany({
      where: { companyId },
      orderBy: { connectionType: "asc" },
      select: { connectionType: true, status: true, lastChecked: true, errorMessage: true },
    });
  }

  /** Grant secrets still VALID whose expiry falls before `before`. Metadata only. */
  findExpiring(before: Date, provider?: string) {
    return this.prisma.tokenSecret.findMany({
      where: { state: "VALID", expiresAt: { not: null, lte: before }, kind: { in: ["ACCESS_TOKEN", "REFRESH_TOKEN"] }, ...(provider ? { provider } : {}) },
      orderBy: { expiresAt: "asc" },
      select: { id: true, companyId: true, provider: true, kind: true, externalId: true, expiresAt: true },
    });
  }

  findSecret(id: string) {
    return this.prisma.tokenSecret.findUnique({ where: { id } }).catch(() => null);
  }

  // --- The lease and the fence ---------------------------------------------------------

  /**
   * Claim-and-read in one statement: claims the refresh lease if nobody holds a live one and
   * returns the connection with its secrets either way, `claimed` saying which. Only while the
   * version is still `seenVersion` (the one the caller found stale): once someone has written,
   * the caller reads their result instead of taking a lease it would only give back. Claimed,
   * its version is the one the holder presents at the fence. Expiry is PostgreSQL's clock, the one
   * clock every process shares: an app server whose clock runs fast cannot take a live lease.
   * `leaseLeftMs`: how long the lease has left by that clock (null: none). Null: not connected.
   */
  async claimAndRead(companyId: string, provider: string, owner: string, leaseMs: number, seenVersion: number): Promise<{ connection: ConnectionWithSecrets; claimed: boolean; leaseLeftMs: number | null } | null> {
    const rows = await this.prisma.$queryRaw<(ConnectionRow & { claimed: boolean; leaseLeftMs: number | null })[]>`
      WITH target AS (
        SELECT "id", "version" FROM "Connection" WHERE "companyId" = ${companyId} AND "provider" = ${provider}
      ), claim AS (
        -- The version as this statement's snapshot saw it: a write committed while we waited for
        -- the row makes the claim fail, so a claimed row never comes with older secrets.
        UPDATE "Connection"
           SET "leaseOwner" = ${owner}, "leaseExpiresAt" = clock_timestamp() + make_interval(secs => ${leaseMs / 1000}::float8)
         WHERE "id" = (SELECT "id" FROM target) AND "version" = (SELECT "version" FROM target) AND "version" = ${seenVersion}
           AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" <= clock_timestamp())
        RETURNING *
      ), c AS (
        SELECT *, true AS "claimed" FROM claim
        UNION ALL
        SELECT *, false FROM "Connection" WHERE "id" = (SELECT "id" FROM target) AND NOT EXISTS (SELECT 1 FROM claim)
      )
      SELECT ${WITH_SECRETS}, (EXTRACT(EPOCH FROM c."leaseExpiresAt" - clock_timestamp()) * 1000)::float8 AS "leaseLeftMs" FROM c`;
    const row = rows[0];
    if (!row) return null;
    const { claimed, leaseLeftMs, ...connection } = toConnection(row);
    return { connection, claimed, leaseLeftMs };
  }

  /**
   * The holder's heartbeat: pushes its lease `leaseMs` past PostgreSQL's clock. False when the
   * lease is no longer this owner's (it lapsed and was taken, or a write cleared it).
   */
  async extendLease(connectionId: string, owner: string, leaseMs: number): Promise<boolean> {
    const count = await this.prisma.$executeRaw`
      UPDATE "Connection"
         SET "leaseExpiresAt" = clock_timestamp() + make_interval(secs => ${leaseMs / 1000}::float8)
       WHERE "id" = ${connectionId}::uuid AND "leaseOwner" = ${owner}`;
    return count === 1;
  }

  /**
   * The fence: bumps the version and drops the lease only if this holder still owns the
   * version it claimed. Runs inside the caller's transaction; false means the write must abort.
   */
  async fence(
    tx: Tx,
    connectionId: string,
    owner: string,
    version: number,
    data: { cooldownUntil?: Date | null; metadata?: ConnectionMetadata },
  ): Promise<boolean> {
    const { count } = await tx.connection.updateMany({
      where: { id: connectionId, version, leaseOwner: owner },
      data: {
        version: { increment: 1 },
        leaseOwner: null,
        leaseExpiresAt: null,
        ...(data.cooldownUntil !== undefined ? { cooldownUntil: data.cooldownUntil } : {}),
        ...(data.metadata !== undefined ? { metadata: data.metadata as Prisma.InputJsonValue } : {}),
      },
    });
    return count === 1;
  }

  /** Gives a lease back without writing (nothing changed). */
  async releaseLease(connectionId: string, owner: string): Promise<void> {
    await this.prisma.connection.updateMany({ where: { id: connectionId, leaseOwner: owner }, data: { leaseOwner: null, leaseExpiresAt: null } });
  }

  // --- The live-check gate ---------------------------------------------------------------

  /**
   * Claims the connection's live check unless one started within `windowMs` (PostgreSQL's
   * clock, shared by every process). "claimed": call the provider. "recent": answer with the
   * health row as it stands. "none": no health row yet, so nothing to gate on.
   */
  async claimLiveCheck(companyId: string, provider: string, windowMs: number): Promise<"claimed" | "recent" | "none"> {
    const claimed = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE "ConnectionHealth" SET "liveCheckAt" = clock_timestamp()
       WHERE "companyId" = ${companyId} AND "connectionType" = ${provider}
         AND ("liveCheckAt" IS NULL OR "liveCheckAt" <= clock_timestamp() - make_interval(secs => ${windowMs / 1000}::float8))
      RETURNING "id"`;
    if (claimed.length > 0) return "claimed";
    const exists = await this.prisma.connectionHealth.count({ where: { companyId, connectionType: provider } });
    return exists > 0 ? "recent" : "none";
  }

  health(companyId: string, provider: string) {
    return this.prisma.connectionHealth.findUnique({ where: { companyId_connectionType: { companyId, connectionType: provider } }, select: { status: true, lastChecked: true, errorMessage: true } });
  }

  /**
   * A refresh's whole write as one statement (one round trip, atomic on its own): the fence
   * (version checked and bumped, lease dropped), then, only if it passed, the token set (its
   * sealed rows from SecretStore), the health and the audit row (its row from AuditTrail).
   * Each table's SQL comes from its owner; this composes them. Returns the connection as written
   * (its row and the secrets written, over `unchanged`: the ones this write left as they were),
   * so nobody reads it back; null: the fence refused.
   */
  async writeRefresh(write: {
    connectionId: string;
    owner: string;
    version: number;
    metadata: ConnectionMetadata;
    secrets: (guard: Prisma.Sql) => { upsert: Prisma.Sql; encryptions: Prisma.Sql; counted: (total: bigint) => void };
    outcome: Outcome & { health: NonNullable<Outcome["health"]> };
    /** The connection's secrets as read under the lease. */
    unchanged: ConnectionWithSecrets["secrets"];
  }): Promise<ConnectionWithSecrets | null> {
    const guard = Prisma.sql`EXISTS (SELECT 1 FROM fenced)`;
    const secrets = write.secrets(guard);
    const { event, health, at, context } = write.outcome;
    const rows = await this.prisma.$queryRaw<(ConnectionRow & { encryptions: bigint | null })[]>`
      WITH fenced AS (
        UPDATE "Connection"
           SET "version" = "version" + 1, "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "cooldownUntil" = NULL,
               "metadata" = ${JSON.stringify(write.metadata)}::jsonb, "updatedAt" = now()
         WHERE "id" = ${write.connectionId}::uuid AND "version" = ${write.version} AND "leaseOwner" = ${write.owner}
        RETURNING *
      ), secrets AS (${secrets.upsert}
      ), usage AS (${secrets.encryptions}
      ), health AS (
        INSERT INTO "ConnectionHealth" ("id", "companyId", "connectionType", "status", "errorMessage", "lastChecked", "updatedAt")
        SELECT gen_random_uuid(), ${event.companyId}, ${event.connectionType}, ${health.status}::"HealthStatus", ${health.errorMessage}, ${at}::timestamptz, now()
         WHERE ${guard}
        ON CONFLICT ("companyId", "connectionType") DO UPDATE
          SET "status" = EXCLUDED."status", "errorMessage" = EXCLUDED."errorMessage", "lastChecked" = EXCLUDED."lastChecked", "updatedAt" = now()
        RETURNING 1
      ), audit AS (${this.audit.insertSql(event, context, at, guard)}
      )
      SELECT f.*, COALESCE((SELECT json_agg(s.*) FROM secrets s), '[]'::json) AS "secrets", (SELECT "encryptions" FROM usage) AS "encryptions" FROM fenced f`;
    const row = rows[0];
    if (!row) return null;
    const { encryptions, ...written } = toConnection(row);
    if (encryptions !== null) secrets.counted(BigInt(encryptions));
    const rewritten = new Set(written.secrets.map((s) => `${s.kind}\u0000${s.externalId}`));
    return { ...written, secrets: [...written.secrets, ...write.unchanged.filter((s) => !rewritten.has(`${s.kind}\u0000${s.externalId}`))] };
  }

  // --- Writes in the caller's transaction ----------------------------------------------

  /**
   * Creates or re-points the company's connection to a new grant: the version moves (a refresh
   * in flight for the old grant is fenced out), the lease and cooldown clear, and the old
   * secrets go (a reconnect may name another realm or tenant). Returns the connection id and
   * the grant it replaced (read under the row lock, so two racing reconnects each see the grant
   * the other left), which the caller must revoke.
   */
  async saveGrant(
    tx: Tx,
    grant: { companyId: string; provider: string; externalId: string; connectedBy: string; metadata: ConnectionMetadata },
  ): Promise<{ connectionId: string; replaced: ConnectionWithSecrets | null }> {
    const { companyId, provider, externalId, connectedBy } = grant;
    const metadata = grant.metadata as Prisma.InputJsonValue;
    // Lock first: a statement after the lock sees what a concurrent reconnect committed.
    await tx.$queryRaw`SELECT 1 FROM "Connection" WHERE "companyId" = ${companyId} AND "provider" = ${provider} FOR UPDATE`;
    const replaced = await tx.connection.findUnique({ where: { companyId_provider: { companyId, provider } }, include: { secrets: true } });
    const connection = await tx.connection.upsert({
      where: { companyId_provider: { companyId, provider } },
      create: { companyId, provider, externalId, connectedBy, metadata },
      update: { externalId, connectedBy, metadata, version: { increment: 1 }, cooldownUntil: null, leaseOwner: null, leaseExpiresAt: null },
    });
    await tx.tokenSecret.deleteMany({ where: { connectionId: connection.id } });
    return { connectionId: connection.id, replaced };
  }

  /** The provider refused the grant (invalid_grant): every token of it is EXPIRED. */
  async expireGrant(tx: Tx, connectionId: string, message: string): Promise<void> {
    await tx.tokenSecret.updateMany({ where: { connectionId, kind: { in: GRANT_KINDS } }, data: { state: "EXPIRED", lastError: message } });
  }

  /** A refresh failed for a reason that may pass: the refresh token stays VALID and remembers why. */
  async noteRefreshError(tx: Tx, connectionId: string, message: string): Promise<void> {
    await tx.tokenSecret.updateMany({ where: { connectionId, kind: "REFRESH_TOKEN" }, data: { lastError: message } });
  }

  /**
   * One secret is unusable (reported compromised). Its connection's version moves, so a refresh
   * in flight cannot write a VALID token set over the decision.
   */
  async markSecretInvalid(tx: Tx, secret: { id: string; connectionId: string | null }, reason: string): Promise<void> {
    await tx.tokenSecret.update({ where: { id: secret.id }, data: { state: "INVALID", lastError: reason } });
    if (secret.connectionId) await tx.connection.update({ where: { id: secret.connectionId }, data: { version: { increment: 1 } } });
  }

  /** Removes a connection, its secrets and its health. */
  async remove(tx: Tx, connection: { id: string; companyId: string; provider: string }): Promise<void> {
    await tx.tokenSecret.deleteMany({ where: { connectionId: connection.id } });
    await tx.connection.delete({ where: { id: connection.id } });
    await tx.connectionHealth.deleteMany({ where: { companyId: connection.companyId, connectionType: connection.provider } });
  }

  /** Records an outcome: the connection's health (lastChecked moves with every record) and its audit row, together. */
  async recordOutcome(tx: Tx, outcome: Outcome): Promise<void> {
    const { event, health, at } = outcome;
    if (health) {
      const { companyId, connectionType } = event;
      await tx.connectionHealth.upsert({
        where: { companyId_connectionType: { companyId, connectionType } },
        create: { companyId, connectionType, status: health.status, errorMessage: health.errorMessage, lastChecked: at },
        // A new grant has never been checked: the next live check is not coalesced with the old grant's.
        update: { status: health.status, errorMessage: health.errorMessage, lastChecked: at, ...(event.action === "CONNECT" ? { liveCheckAt: null } : {}) },
      });
    }
    await this.audit.write(tx, event, outcome.context, at);
  }
}
