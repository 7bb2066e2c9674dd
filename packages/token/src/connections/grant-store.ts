import { Prisma, type Connection, type PrismaClient, type TokenKind } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { AuditEvent, AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../types";
import type { ConnectionMetadata, GrantWithSecrets } from "./connection";
import { toGrant, WITH_SECRETS, type GrantRow } from "./connection-rows";
import type { ConnectionStore, HealthWrite } from "./connection-store";

export type Tx = Prisma.TransactionClient;

/** What happened to a grant or a connection: its audit row, and the health of the connections it says something about. */
export interface Outcome {
  event: AuditEvent;
  context: RequestContext;
  at: Date;
  health?: HealthWrite;
}

/** Kinds that belong to an OAuth grant (static secrets have no connection). */
const GRANT_KINDS: TokenKind[] = ["ACCESS_TOKEN", "REFRESH_TOKEN", "PREVIOUS_REFRESH_TOKEN"];

/**
 * The only code that writes `OAuthGrant` and the state of `TokenSecret` rows (sealed values are
 * written by SecretStore, connections and their health by ConnectionStore). Holds the refresh
 * lease of a grant (a conditional UPDATE), the fence (the version checked and bumped on every
 * write of a token set) and `recordOutcome`, which writes health and its audit row in the
 * caller's transaction. A refresh's write is one statement (writeRefresh) composed of each table
 * owner's SQL. One grant may serve several connections (a Xero consent's organisations): it is
 * refreshed once for all of them.
 */
export class GrantStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditTrail,
    private readonly connections: ConnectionStore,
  ) {}

  /** Runs `fn` in one transaction. Never call a provider inside it. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  // --- Reading -------------------------------------------------------------------------

  /** The grant named by id and its secrets, in one round trip (the background worker's jobs name grants by id). */
  async loadById(grantId: string): Promise<GrantWithSecrets | null> {
    const rows = await this.prisma.$queryRaw<GrantRow[]>`
      SELECT ${WITH_SECRETS} FROM "OAuthGrant" c WHERE c."id" = ${grantId}::uuid`;
    return rows[0] ? toGrant(rows[0]) : null;
  }

  /** The grant, or NO_TOKEN when it is gone (replaced by a reconnect, or disconnected). */
  async require(grantId: string): Promise<GrantWithSecrets> {
    const grant = await this.loadById(grantId);
    if (!grant) throw new TokenError("NO_TOKEN", "This provider is not connected.");
    return grant;
  }

  /** The grant imported with one of these fingerprints (SecretStore.fingerprints) and the connections it serves, or null. */
  async findImported(fingerprints: readonly string[]): Promise<{ id: string; companyId: string; provider: string; connections: Connection[] } | null> {
    return this.prisma.oAuthGrant.findFirst({
      where: { importFingerprint: { in: [...fingerprints] } },
      select: { id: true, companyId: true, provider: true, connections: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] } },
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
   * `leaseLeftMs`: how long the lease has left by that clock (null: none). Null: the grant is gone.
   */
  async claimAndRead(grantId: string, owner: string, leaseMs: number, seenVersion: number): Promise<{ grant: GrantWithSecrets; claimed: boolean; leaseLeftMs: number | null } | null> {
    const rows = await this.prisma.$queryRaw<(GrantRow & { claimed: boolean; leaseLeftMs: number | null })[]>`
      WITH target AS (
        SELECT "id", "version" FROM "OAuthGrant" WHERE "id" = ${grantId}::uuid
      ), claim AS (
        -- The version as this statement's snapshot saw it: a write committed while we waited for
        -- the row makes the claim fail, so a claimed row never comes with older secrets.
        UPDATE "OAuthGrant"
           SET "leaseOwner" = ${owner}, "leaseExpiresAt" = clock_timestamp() + make_interval(secs => ${leaseMs / 1000}::float8)
         WHERE "id" = (SELECT "id" FROM target) AND "version" = (SELECT "version" FROM target) AND "version" = ${seenVersion}
           AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" <= clock_timestamp())
        RETURNING *
      ), c AS (
        SELECT *, true AS "claimed" FROM claim
        UNION ALL
        SELECT *, false FROM "OAuthGrant" WHERE "id" = (SELECT "id" FROM target) AND NOT EXISTS (SELECT 1 FROM claim)
      )
      SELECT ${WITH_SECRETS}, (EXTRACT(EPOCH FROM c."leaseExpiresAt" - clock_timestamp()) * 1000)::float8 AS "leaseLeftMs" FROM c`;
    const row = rows[0];
    if (!row) return null;
    const { claimed, leaseLeftMs, ...grant } = toGrant(row);
    return { grant, claimed, leaseLeftMs };
  }

  /**
   * The holder's heartbeat: pushes its lease `leaseMs` past PostgreSQL's clock. False when the
   * lease is no longer this owner's (it lapsed and was taken, or a write cleared it).
   */
  async extendLease(grantId: string, owner: string, leaseMs: number): Promise<boolean> {
    const count = await this.prisma.$executeRaw`
      UPDATE "OAuthGrant"
         SET "leaseExpiresAt" = clock_timestamp() + make_interval(secs => ${leaseMs / 1000}::float8)
       WHERE "id" = ${grantId}::uuid AND "leaseOwner" = ${owner}`;
    return count === 1;
  }

  /**
   * The fence: bumps the version and drops the lease only if this holder still owns the
   * version it claimed. Runs inside the caller's transaction; false means the write must abort.
   */
  async fence(
    tx: Tx,
    grantId: string,
    owner: string,
    version: number,
    data: { cooldownUntil?: Date | null; metadata?: ConnectionMetadata },
  ): Promise<boolean> {
    const { count } = await tx.oAuthGrant.updateMany({
      where: { id: grantId, version, leaseOwner: owner },
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
  async releaseLease(grantId: string, owner: string): Promise<void> {
    await this.prisma.oAuthGrant.updateMany({ where: { id: grantId, leaseOwner: owner }, data: { leaseOwner: null, leaseExpiresAt: null } });
  }

  /**
   * A refresh's whole write as one statement (one round trip, atomic on its own): the fence
   * (version checked and bumped, lease dropped), then, only if it passed, the token set (its
   * sealed rows from SecretStore), the health of every connection the grant serves (from
   * ConnectionStore) and the audit row (its row from AuditTrail).
   * Each table's SQL comes from its owner; this composes them. Returns the connection as written
   * (its row and the secrets written, over `unchanged`: the ones this write left as they were),
   * so nobody reads it back; null: the fence refused.
   */
  async writeRefresh(write: {
    grantId: string;
    owner: string;
    version: number;
    metadata: ConnectionMetadata;
    secrets: (guard: Prisma.Sql) => { upsert: Prisma.Sql; encryptions: Prisma.Sql; counted: (total: bigint) => void };
    outcome: Outcome & { health: NonNullable<Outcome["health"]> };
    /** The grant's secrets as read under the lease. */
    unchanged: GrantWithSecrets["secrets"];
  }): Promise<GrantWithSecrets | null> {
    const guard = Prisma.sql`EXISTS (SELECT 1 FROM fenced)`;
    const secrets = write.secrets(guard);
    const { event, health, at, context } = write.outcome;
    const rows = await this.prisma.$queryRaw<(GrantRow & { encryptions: bigint | null })[]>`
      WITH fenced AS (
        UPDATE "OAuthGrant"
           SET "version" = "version" + 1, "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "cooldownUntil" = NULL,
               "metadata" = ${JSON.stringify(write.metadata)}::jsonb, "updatedAt" = now()
         WHERE "id" = ${write.grantId}::uuid AND "version" = ${write.version} AND "leaseOwner" = ${write.owner}
        RETURNING *
      ), secrets AS (${secrets.upsert}
      ), usage AS (${secrets.encryptions}
      ), health AS (${this.connections.healthSql(health, at, guard)}
      ), audit AS (${this.audit.insertSql(event, context, at, guard)}
      )
      SELECT f.*, COALESCE((SELECT json_agg(s.*) FROM secrets s), '[]'::json) AS "secrets", (SELECT "encryptions" FROM usage) AS "encryptions" FROM fenced f`;
    const row = rows[0];
    if (!row) return null;
    const { encryptions, ...written } = toGrant(row);
    if (encryptions !== null) secrets.counted(BigInt(encryptions));
    const rewritten = new Set(written.secrets.map((s) => `${s.kind}\u0000${s.externalId}`));
    return { ...written, secrets: [...written.secrets, ...write.unchanged.filter((s) => !rewritten.has(`${s.kind}\u0000${s.externalId}`))] };
  }

  // --- Writes in the caller's transaction ----------------------------------------------

  /**
   * A new grant (a consent's token set), its secrets to be sealed under its own id, so that two
   * grants of one provider in one company never share a vault binding. Returns its id.
   */
  async createGrant(tx: Tx, grant: { id: string; companyId: string; provider: string; connectedBy: string; metadata: ConnectionMetadata; importFingerprint?: string }): Promise<string> {
    const created = await tx.oAuthGrant.create({
      data: {
        id: grant.id,
        companyId: grant.companyId,
        provider: grant.provider,
        secretExternalId: grant.id,
        connectedBy: grant.connectedBy,
        metadata: grant.metadata as Prisma.InputJsonValue,
        importFingerprint: grant.importFingerprint ?? null,
      },
    });
    return created.id;
  }

  /** A grant with its secrets, locked for the rest of the caller's transaction (a reconnect deciding its fate). */
  async lockForUpdate(tx: Tx, grantId: string): Promise<GrantWithSecrets | null> {
    await tx.$queryRaw`SELECT 1 FROM "OAuthGrant" WHERE "id" = ${grantId}::uuid FOR UPDATE`;
    return tx.oAuthGrant.findUnique({ where: { id: grantId }, include: { secrets: true } });
  }

  /**
   * Removes a grant that serves no connection any more, with its secrets. A refresh in flight for
   * it finds no row at its fence and writes nothing.
   */
  async remove(tx: Tx, grantId: string): Promise<void> {
    await tx.oAuthGrant.deleteMany({ where: { id: grantId } });
  }

  /** The provider refused the grant (invalid_grant): every token of it is EXPIRED. */
  async expireGrant(tx: Tx, grantId: string, message: string): Promise<void> {
    await tx.tokenSecret.updateMany({ where: { grantId, kind: { in: GRANT_KINDS } }, data: { state: "EXPIRED", lastError: message } });
  }

  /** A refresh failed for a reason that may pass: the refresh token stays VALID and remembers why. */
  async noteRefreshError(tx: Tx, grantId: string, message: string): Promise<void> {
    await tx.tokenSecret.updateMany({ where: { grantId, kind: "REFRESH_TOKEN" }, data: { lastError: message } });
  }

  /**
   * One secret is unusable (reported compromised). Its grant's version moves, so a refresh
   * in flight cannot write a VALID token set over the decision.
   */
  async markSecretInvalid(tx: Tx, secret: { id: string; grantId: string | null }, reason: string): Promise<void> {
    await tx.tokenSecret.update({ where: { id: secret.id }, data: { state: "INVALID", lastError: reason } });
    if (secret.grantId) await tx.oAuthGrant.update({ where: { id: secret.grantId }, data: { version: { increment: 1 } } });
  }

  /** Records an outcome: the health it sets (lastChecked moves with every record) and its audit row, together. */
  async recordOutcome(tx: Tx, outcome: Outcome): Promise<void> {
    const { event, health, at } = outcome;
    // A new grant has never been checked: the next live check is not coalesced with the old grant's.
    if (health) await this.connections.recordHealth(tx, health, at, event.action === "CONNECT" || event.action === "IMPORT");
    await this.audit.write(tx, event, outcome.context, at);
  }
}
