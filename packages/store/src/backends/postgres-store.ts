import { Prisma, type PrismaClient } from "@tokenvault/db";
import { byExpiry, type Clock } from "../clock";
import type { StoreCodec } from "../codec";
import { StorageError, toStorageError, type StorageOperation } from "../errors";
import { checkLockName, checkLockOwner, checkLockTtl, newLockOwner } from "../lock-input";
import { resolveOptions, type StoreOptions } from "../options";
import type { NewTokenMetadata, StoreLock, TokenMetadata, TokenStore } from "../types";

export interface PostgresTokenStoreOptions extends StoreOptions {
  /** Rows removed per cleanup call at most. Default 1,000. */
  cleanupBatch?: number;
  /** Most tokens `list` returns for one subject. Default 1,000. */
  listLimit?: number;
  /** Disconnects the client on close. Default false: the app's shared client outlives the store. */
  ownsClient?: boolean;
}

/**
 * `"column" = $n` when the ring has one key (the usual case: the same plan and parameter as a bare
 * indexed SELECT), `= ANY($n::text[])` during a key rotation (measured: the array form cost about a
 * tenth of a get's round trip).
 */
function keyIn(column: "tokenKey" | "subjectKey" | "idKey", keys: readonly string[]): Prisma.Sql {
  const name = Prisma.raw(`"${column}"`);
  return keys.length === 1 ? Prisma.sql`${name} = ${keys[0]}` : Prisma.sql`${name} = ANY(${keys}::text[])`;
}

interface SealedRow {
  tokenKey: string;
  sealed: string | null;
  revoked: boolean;
}

/**
 * PostgreSQL (or the embedded PGlite) through Prisma: the TokenStoreEntry and TokenStoreLock
 * tables (see prisma/schema.prisma). Behaves as the Redis store does, operation for operation:
 * each is one statement, except `store`, one short transaction. "Now" is the store's clock,
 * passed to every statement, so a token expires at the same instant on every backend and
 * tests can move time; the database clock is never consulted.
 */
export class PostgresTokenStore implements TokenStore, StoreLock {
  private readonly codec: StoreCodec;
  private readonly clock: Clock;
  private readonly namespace: string;
  private readonly cleanupBatch: number;
  private readonly listLimit: number;
  private readonly ownsClient: boolean;

  constructor(
    private readonly prisma: PrismaClient,
    options: PostgresTokenStoreOptions = {},
  ) {
    ({ codec: this.codec, clock: this.clock, namespace: this.namespace } = resolveOptions(options));
    this.cleanupBatch = options.cleanupBatch ?? 1_000;
    this.listLimit = options.listLimit ?? 1_000;
    this.ownsClient = options.ownsClient ?? false;
  }

  /**
   * The clock's instant as an explicit UTC literal, cast in SQL: no driver or session time zone
   * can shift it (a bare Date parameter may travel as a zone-less timestamp).
   */
  private now(): string {
    return this.clock.now().toISOString();
  }

  /** Runs a query, mapping any failure to a StorageError that names the hashed key only. */
  private async run<T>(op: StorageOperation, key: string | null, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      // Prisma's messages may quote parameters: toStorageError keeps the error as `cause` only.
      throw toStorageError(op, key, error);
    }
  }

  async store(token: string, metadata: NewTokenMetadata): Promise<void> {
    const at = this.clock.now();
    const entry = this.codec.encode(token, metadata, at);
    const [ns, now, expiresAt] = [this.namespace, at.toISOString(), new Date(entry.expiresAtMs).toISOString()];
    await this.run("store", entry.tokenKey, () =>
      this.prisma.$transaction(async (tx) => {
        // Stores naming the same id take turns, so the unique id index never fails one of them.
        await tx.$executeRaw`SELECT 1 FROM pg_advisory_xact_lock(hashtext(${ns}), hashtext(${entry.idKey}))`;
        // The id points at the newest token stored with it, as in the Redis store: take it over.
        await tx.$executeRaw`
          UPDATE "TokenStoreEntry" SET "idKey" = NULL
           WHERE "namespace" = ${ns} AND "idKey" = ${entry.idKey} AND "tokenKey" <> ${entry.tokenKey}`;
        // The row lock orders this with a concurrent revoke: DO UPDATE sees the committed row.
        const stored = await tx.$queryRaw<unknown[]>`
          INSERT INTO "TokenStoreEntry" ("namespace", "tokenKey", "subjectKey", "idKey", "sealed", "expiresAt", "revoked")
          VALUES (${ns}, ${entry.tokenKey}, ${entry.subjectKey}, ${entry.idKey}, ${entry.sealed}, ${expiresAt}::timestamptz, false)
          ON CONFLICT ("namespace", "tokenKey") DO UPDATE
             SET "subjectKey" = EXCLUDED."subjectKey", "idKey" = EXCLUDED."idKey", "sealed" = EXCLUDED."sealed",
                 "expiresAt" = EXCLUDED."expiresAt", "revoked" = false
           WHERE NOT ("TokenStoreEntry"."revoked" AND "TokenStoreEntry"."expiresAt" > ${now}::timestamptz)
          RETURNING 1 AS "stored"`;
        // Thrown inside the transaction, so the id taken above goes back.
        if (stored.length === 0) throw new StorageError("store", "CONFLICT", "the token was revoked", entry.tokenKey);
      }),
    );
  }

  async get(token: string): Promise<TokenMetadata | null> {
    const keys = this.codec.tokenKeys("get", token);
    const rows = await this.run("get", keys[0]!, () =>
      this.prisma.$queryRaw<SealedRow[]>`
        SELECT "tokenKey", "sealed", "revoked" FROM "TokenStoreEntry"
         WHERE "namespace" = ${this.namespace} AND ${keyIn("tokenKey", keys)} AND "expiresAt" > ${this.now()}::timestamptz`,
    );
    return this.first("get", keys, rows, "tokenKey");
  }

  async getById(id: string): Promise<TokenMetadata | null> {
    const idKeys = this.codec.idKeys("getById", id);
    const rows = await this.run("getById", idKeys[0]!, () =>
      this.prisma.$queryRaw<(SealedRow & { idKey: string })[]>`
        SELECT "tokenKey", "idKey", "sealed", "revoked" FROM "TokenStoreEntry"
         WHERE "namespace" = ${this.namespace} AND ${keyIn("idKey", idKeys)} AND "expiresAt" > ${this.now()}::timestamptz`,
    );
    return this.first("getById", idKeys, rows, "idKey");
  }

  /** The row of the first key of the ring that has one (the current key first); a revocation hides the token. */
  private first<R extends SealedRow>(op: "get" | "getById", keys: readonly string[], rows: R[], column: keyof R): TokenMetadata | null {
    for (const key of keys) {
      const row = rows.find((candidate) => candidate[column] === key);
      if (!row) continue;
      if (row.revoked || row.sealed === null) return null;
      return this.codec.decode(op, row.tokenKey, row.sealed);
    }
    return null;
  }

  async delete(token: string): Promise<boolean> {
    const keys = this.codec.tokenKeys("delete", token);
    // A revocation is not an entry: it stays until the token would have expired.
    const rows = await this.run("delete", keys[0]!, () =>
      this.prisma.$queryRaw<{ live: boolean }[]>`
        DELETE FROM "TokenStoreEntry"
         WHERE "namespace" = ${this.namespace} AND "tokenKey" = ANY(${keys}::text[]) AND NOT "revoked"
        RETURNING "expiresAt" > ${this.now()}::timestamptz AS "live"`,
    );
    return rows.some((row) => row.live);
  }

  async list(subject: string): Promise<TokenMetadata[]> {
    const subjectKeys = this.codec.subjectKeys("list", subject);
    // Revoked rows have no subject index, so they cannot match.
    const rows = await this.run("list", subjectKeys[0]!, () =>
      this.prisma.$queryRaw<{ tokenKey: string; sealed: string }[]>`
        SELECT "tokenKey", "sealed" FROM "TokenStoreEntry"
         WHERE "namespace" = ${this.namespace} AND ${keyIn("subjectKey", subjectKeys)} AND "expiresAt" > ${this.now()}::timestamptz
         ORDER BY "expiresAt" LIMIT ${this.listLimit}`,
    );
    return rows.map((row) => this.codec.decode("list", row.tokenKey, row.sealed)).sort(byExpiry);
  }

  async revoke(token: string): Promise<boolean> {
    const keys = this.codec.tokenKeys("revoke", token);
    // The metadata and indexes go; the row stays, with its expiry, as the revocation.
    const rows = await this.run("revoke", keys[0]!, () =>
      this.prisma.$queryRaw<unknown[]>`
        UPDATE "TokenStoreEntry" SET "revoked" = true, "sealed" = NULL, "subjectKey" = NULL, "idKey" = NULL
         WHERE "namespace" = ${this.namespace} AND "tokenKey" = ANY(${keys}::text[]) AND NOT "revoked"
           AND "expiresAt" > ${this.now()}::timestamptz
        RETURNING 1 AS "revoked"`,
    );
    return rows.length > 0;
  }

  async isRevoked(token: string): Promise<boolean> {
    const keys = this.codec.tokenKeys("isRevoked", token);
    const rows = await this.run("isRevoked", keys[0]!, () =>
      this.prisma.$queryRaw<unknown[]>`
        SELECT 1 AS "revoked" FROM "TokenStoreEntry"
         WHERE "namespace" = ${this.namespace} AND "tokenKey" = ANY(${keys}::text[]) AND "revoked"
           AND "expiresAt" > ${this.now()}::timestamptz
         LIMIT 1`,
    );
    return rows.length > 0;
  }

  /** Deletes a bounded batch of expired rows, revocations included; returns how many were entries. */
  async cleanup(): Promise<number> {
    // SKIP LOCKED: concurrent cleanups (one per process) take different rows instead of queueing.
    const rows = await this.run("cleanup", null, () =>
      this.prisma.$queryRaw<{ revoked: boolean }[]>`
        WITH expired AS (
          SELECT "tokenKey" FROM "TokenStoreEntry"
           WHERE "namespace" = ${this.namespace} AND "expiresAt" <= ${this.now()}::timestamptz
           ORDER BY "expiresAt" LIMIT ${this.cleanupBatch}
             FOR UPDATE SKIP LOCKED)
        DELETE FROM "TokenStoreEntry" AS e USING expired
         WHERE e."namespace" = ${this.namespace} AND e."tokenKey" = expired."tokenKey"
        RETURNING e."revoked"`,
    );
    return rows.filter((row) => !row.revoked).length;
  }

  /**
   * Takes `name` when no live lease exists (absent or expired), in one conditional upsert.
   * The lease runs on the store's clock, like token expiry: one notion of time per store, and
   * tests move it. App servers' clocks must agree to well within the ttl, as they must for
   * token expiry; hold a lock for much less than its ttl.
   */
  async acquire(name: string, ttlMs: number): Promise<string | null> {
    const [lockName, ttl, owner] = [checkLockName(name), checkLockTtl(ttlMs), newLockOwner()];
    const now = this.clock.now();
    const rows = await this.run("lock", null, () =>
      this.prisma.$queryRaw<{ owner: string }[]>`
        INSERT INTO "TokenStoreLock" ("namespace", "name", "owner", "expiresAt")
        VALUES (${this.namespace}, ${lockName}, ${owner}, ${new Date(now.getTime() + ttl).toISOString()}::timestamptz)
        ON CONFLICT ("namespace", "name") DO UPDATE SET "owner" = EXCLUDED."owner", "expiresAt" = EXCLUDED."expiresAt"
         WHERE "TokenStoreLock"."expiresAt" <= ${now.toISOString()}::timestamptz
        RETURNING "owner"`,
    );
    return rows[0]?.owner === owner ? owner : null;
  }

  /** Compare-and-delete: a holder whose lease expired and was taken over releases nothing. */
  async release(name: string, owner: string): Promise<void> {
    const [lockName, lockOwner] = [checkLockName(name), checkLockOwner(owner)];
    await this.run("lock", null, () =>
      this.prisma.$executeRaw`
        DELETE FROM "TokenStoreLock" WHERE "namespace" = ${this.namespace} AND "name" = ${lockName} AND "owner" = ${lockOwner}`,
    );
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.run("close", null, () => this.prisma.$disconnect());
  }
}
