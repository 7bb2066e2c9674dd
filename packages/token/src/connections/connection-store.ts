import { Prisma, type Connection, type HealthStatus, type PrismaClient } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";
import type { ConnectionWithGrant } from "./connection";
import type { ConnectionSettings } from "./connection-settings";
import { CONNECTION_JSON, toConnectionRow, toGrant, WITH_SECRETS, type ConnectionJson, type GrantRow } from "./connection-rows";

type Tx = Prisma.TransactionClient;

/** A connection's health as the connections page shows it. */
export interface ConnectionHealthRow {
  status: HealthStatus;
  lastChecked: Date;
  errorMessage: string | null;
}
type ConnectionHealthJson = Omit<ConnectionHealthRow, "lastChecked"> & { lastChecked: string };

/**
 * Which connection a read names: its id, or a company and provider with at most one of the
 * selectors (a realm, a tenant, or either as `identifier`: the connection's external id). With
 * neither id nor selector, the company must have exactly one connection of the provider.
 * `companyId` beside an id scopes it: another company's id is NOT_FOUND.
 */
export type ConnectionSelector =
  | { connectionId: string; companyId?: string }
  | { companyId: string; provider: string; realmId?: string; tenantId?: string; identifier?: string };

/** Whose health a write sets: one connection (a live check), or every connection a grant serves (its refresh, its connect). */
export type HealthTarget = { connectionId: string } | { grantId: string };

export interface HealthWrite {
  status: HealthStatus;
  errorMessage: string | null;
  of: HealthTarget;
}

const notConnected = () => new TokenError("NO_TOKEN", "This provider is not connected.");
const notFound = () => new TokenError("NOT_FOUND", "No such connection.");

/** The external id a selector names, or undefined; INVALID_INPUT when it names several. */
export function selectedExternalId(selector: ConnectionSelector): string | undefined {
  if ("connectionId" in selector) return undefined;
  const given = [selector.realmId, selector.tenantId, selector.identifier].filter((v) => v !== undefined);
  if (given.length > 1) throw new TokenError("INVALID_INPUT", "Name the connection by one of realmId, tenantId or identifier.");
  return given[0];
}

/**
 * The only writer of `Connection` (what a grant reaches) and `ConnectionHealth` (one row per
 * connection). Grants, their lease and their secrets are GrantStore's.
 */
export class ConnectionStore {
  constructor(private readonly prisma: PrismaClient) {}

  // --- Reading -------------------------------------------------------------------------

  /**
   * The connection a selector names with its grant and the grant's secrets, in one round trip.
   * NO_TOKEN when the company has no such connection, NOT_FOUND for an unknown (or another
   * company's) id, AMBIGUOUS_CONNECTION when a company and provider alone name several.
   */
  async resolve(selector: ConnectionSelector, provider?: string): Promise<ConnectionWithGrant> {
    const rows = await this.find(selector);
    if ("connectionId" in selector) {
      const row = rows[0];
      if (!row || (provider !== undefined && row.connection.provider !== provider)) throw notFound();
      return row;
    }
    if (rows.length === 0) throw notConnected();
    if (rows.length > 1) {
      const names = rows.map((r) => `${r.connection.id}${r.connection.displayName ? ` (${r.connection.displayName})` : ""}`);
      throw new TokenError(
        "AMBIGUOUS_CONNECTION",
        `This company has ${rows.length} ${selector.provider} connections: ${names.join(", ")}. Name one by its connection id, realmId or tenantId.`,
        { details: { connections: rows.map((r) => ({ id: r.connection.id, name: r.connection.displayName, externalId: r.connection.externalId })) } },
      );
    }
    return rows[0]!;
  }

  /** What `resolve` reads: every connection the selector matches (at most a few). */
  async find(selector: ConnectionSelector): Promise<ConnectionWithGrant[]> {
    let where: Prisma.Sql;
    if ("connectionId" in selector) {
      where = Prisma.sql`k."id" = ${selector.connectionId}::uuid`;
      if (selector.companyId !== undefined) where = Prisma.sql`${where} AND k."companyId" = ${selector.companyId}`;
    } else {
      const externalId = selectedExternalId(selector);
      where = Prisma.sql`k."companyId" = ${selector.companyId} AND k."provider" = ${selector.provider}`;
      if (externalId !== undefined) where = Prisma.sql`${where} AND k."externalId" = ${externalId}`;
    }
    // Ordered here, not by the statement: an ORDER BY made every read (almost always one row) a
    // sort node, +0.1 ms of a 0.9 ms cold read. Beyond 50 matches only the ambiguity error lists
    // them, and any 50 serve it.
    const rows = await this.prisma.$queryRaw<(GrantRow & { connection: ConnectionJson })[]>`
      SELECT ${WITH_SECRETS}, ${CONNECTION_JSON} FROM "Connection" k JOIN "OAuthGrant" c ON c."id" = k."grantId"
       WHERE ${where} LIMIT 50`;
    const found = rows.map((row) => {
      const { connection, ...grant } = toGrant(row);
      return { connection: toConnectionRow(connection), grant };
    });
    if (found.length > 1) found.sort((a, b) => a.connection.createdAt.getTime() - b.connection.createdAt.getTime() || (a.connection.id < b.connection.id ? -1 : 1));
    return found;
  }

  /**
   * Every connection of a company with its grant, the grant's secrets and its health row, in one
   * statement, by provider then age: what the connections page (connection.list) shows. Three
   * Prisma reads (four round trips with the secrets' include) were most of a signed-in request's
   * cost beside an anonymous one (docs/performance.md).
   */
  async listWithGrants(companyId: string): Promise<(ConnectionWithGrant & { health: ConnectionHealthRow | null })[]> {
    const rows = await this.prisma.$queryRaw<(GrantRow & { connection: ConnectionJson; health: ConnectionHealthJson | null })[]>`
      SELECT ${WITH_SECRETS}, ${CONNECTION_JSON},
             (SELECT json_build_object('status', h."status", 'lastChecked', h."lastChecked", 'errorMessage', h."errorMessage")
                FROM "ConnectionHealth" h WHERE h."connectionId" = k."id") AS "health"
        FROM "Connection" k JOIN "OAuthGrant" c ON c."id" = k."grantId"
       WHERE k."companyId" = ${companyId}
       ORDER BY k."provider", k."createdAt", k."id"`;
    return rows.map((row) => {
      const { connection, health, ...grant } = toGrant(row);
      return { connection: toConnectionRow(connection), grant, health: health && { ...health, lastChecked: new Date(health.lastChecked) } };
    });
  }

  listForGrant(grantId: string): Promise<Connection[]> {
    return this.prisma.connection.findMany({ where: { grantId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  }

  listHealth(companyId: string) {
    return this.prisma.connectionHealth.findMany({
      where: { companyId },
      orderBy: [{ connectionType: "asc" }, { connectionId: "asc" }],
      select: { connectionId: true, connectionType: true, status: true, lastChecked: true, errorMessage: true },
    });
  }

  health(connectionId: string) {
    return this.prisma.connectionHealth.findUnique({ where: { connectionId }, select: { status: true, lastChecked: true, errorMessage: true } });
  }

  // --- The live-check gate ---------------------------------------------------------------

  /**
   * Claims the connection's live check unless one started within `windowMs` (PostgreSQL's
   * clock, shared by every process). "claimed": call the provider. "recent": answer with the
   * health row as it stands. "none": no health row yet, so nothing to gate on.
   */
  async claimLiveCheck(connectionId: string, windowMs: number): Promise<"claimed" | "recent" | "none"> {
    const claimed = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE "ConnectionHealth" SET "liveCheckAt" = clock_timestamp()
       WHERE "connectionId" = ${connectionId}::uuid
         AND ("liveCheckAt" IS NULL OR "liveCheckAt" <= clock_timestamp() - make_interval(secs => ${windowMs / 1000}::float8))
      RETURNING "id"`;
    if (claimed.length > 0) return "claimed";
    const exists = await this.prisma.connectionHealth.count({ where: { connectionId } });
    return exists > 0 ? "recent" : "none";
  }

  // --- Writes in the caller's transaction ----------------------------------------------

  /**
   * The connection of (company, provider, externalId) served by `grantId` from now on: created,
   * or (a reconnect of the same realm or organisation) re-pointed, keeping its id. Locks the row
   * so two racing connects each see the grant the other left. Returns the grant it served before (null: new).
   */
  async attach(
    tx: Tx,
    input: { companyId: string; provider: string; externalId: string; displayName: string; grantId: string; connectedBy: string; requestedScopes: string[]; grantedScopes: string[] },
  ): Promise<{ connection: Connection; previousGrantId: string | null }> {
    const { companyId, provider, externalId } = input;
    const locked = await tx.$queryRaw<{ grantId: string }[]>`
      SELECT "grantId" FROM "Connection" WHERE "companyId" = ${companyId} AND "provider" = ${provider} AND "externalId" = ${externalId} FOR UPDATE`;
    const connection = await tx.connection.upsert({
      where: { companyId_provider_externalId: { companyId, provider, externalId } },
      create: input,
      // A name the provider no longer gives is kept.
      // An admin's name, tags, metadata and pause are kept: a reconnect renews the grant, not those.
      update: {
        grantId: input.grantId,
        connectedBy: input.connectedBy,
        requestedScopes: input.requestedScopes,
        grantedScopes: input.grantedScopes,
        ...(input.displayName ? { displayName: input.displayName } : {}),
      },
    });
    return { connection, previousGrantId: locked[0]?.grantId ?? null };
  }

  /** How many connections a grant still serves (in the caller's transaction, after its changes). */
  countForGrant(tx: Tx, grantId: string): Promise<number> {
    return tx.connection.count({ where: { grantId } });
  }

  /** An admin's name, tags and metadata (validated by connection-settings.ts); a field left out is kept. */
  updateSettings(tx: Tx, connectionId: string, settings: ConnectionSettings): Promise<Connection> {
    return tx.connection.update({
      where: { id: connectionId },
      data: {
        ...(settings.name !== undefined && { customName: settings.name }),
        ...(settings.tags !== undefined && { tags: settings.tags }),
        ...(settings.metadata !== undefined && { metadata: settings.metadata }),
      },
    });
  }

  /**
   * Pauses (`disabled` given) or resumes the connection, only when that changes it: the row
   * afterwards, or null when it already was so (one audit row and one event per real change, however many ask).
   */
  async setDisabled(tx: Tx, connectionId: string, disabled: { at: Date; by: string } | null): Promise<Connection | null> {
    const { count } = await tx.connection.updateMany({
      where: { id: connectionId, disabledAt: disabled ? null : { not: null } },
      data: disabled ? { disabledAt: disabled.at, disabledBy: disabled.by } : { disabledAt: null, disabledBy: null },
    });
    return count === 1 ? tx.connection.findUnique({ where: { id: connectionId } }) : null;
  }

  /** Removes a connection and its health. */
  async remove(tx: Tx, connectionId: string): Promise<void> {
    await tx.connection.delete({ where: { id: connectionId } });
  }

  /** Sets the health of the target's connections; `connected`: a new grant, never checked, so its next live check is not coalesced with the old one's. */
  async recordHealth(tx: Tx, health: HealthWrite, at: Date, connected = false): Promise<void> {
    await tx.$executeRaw`${this.healthSql(health, at, Prisma.sql`true`, connected)}`;
  }

  /** The health write as one statement (a CTE body in GrantStore.writeRefresh), applied only when `guard` holds. */
  healthSql(health: HealthWrite, at: Date, guard: Prisma.Sql, connected = false): Prisma.Sql {
    const of = "grantId" in health.of ? Prisma.sql`k."grantId" = ${health.of.grantId}::uuid` : Prisma.sql`k."id" = ${health.of.connectionId}::uuid`;
    return Prisma.sql`
      INSERT INTO "ConnectionHealth" ("id", "companyId", "connectionId", "connectionType", "status", "errorMessage", "lastChecked", "updatedAt")
      SELECT gen_random_uuid(), k."companyId", k."id", k."provider", ${health.status}::"HealthStatus", ${health.errorMessage}, ${at}::timestamptz, now()
        FROM "Connection" k WHERE ${of} AND ${guard}
      ON CONFLICT ("connectionId") DO UPDATE
        SET "status" = EXCLUDED."status", "errorMessage" = EXCLUDED."errorMessage", "lastChecked" = EXCLUDED."lastChecked", "updatedAt" = now()
            ${connected ? Prisma.sql`, "liveCheckAt" = NULL` : Prisma.empty}
      RETURNING 1`;
  }
}
