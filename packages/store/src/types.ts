/** JSON a token's claims may hold. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** What a store keeps about a token. The token itself is never kept: only its keyed hash. */
export interface TokenMetadata {
  /** The token's own id (e.g. a JWT `jti`); unique per store. */
  id: string;
  /** Whom the token was issued to or for (a user, a service). */
  subject: string;
  expiresAt: Date;
  issuedAt: Date;
  scopes?: string[];
  claims?: { [key: string]: Json };
  /** Set when the token was revoked (see TokenStore.revoke). */
  revokedAt?: Date;
}

/** What a caller passes to `store`: `issuedAt` defaults to now; `revokedAt` is the store's to set. */
export type NewTokenMetadata = Omit<TokenMetadata, "issuedAt" | "revokedAt"> & { issuedAt?: Date };

/**
 * A store for the tokens a service issues or receives for itself, shared across processes.
 * Every backend (memory, Redis, Upstash, Vercel KV, PostgreSQL) behaves the same; one
 * conformance suite proves it.
 *
 * - An expired token is never returned, whether or not `cleanup` has run.
 * - A revoked token is never returned by `get`, `getById` or `list`; `isRevoked` stays true
 *   until the token would have expired.
 * - Every failure of the backend is a StorageError; bad input is a StorageError with code
 *   INVALID_INPUT and nothing written.
 */
export interface TokenStore {
  /** Stores a token (replacing an entry for the same token). */
  store(token: string, metadata: NewTokenMetadata): Promise<void>;
  /** The token's metadata, or null when unknown, expired or revoked. */
  get(token: string): Promise<TokenMetadata | null>;
  /** Metadata by the token's id, or null when unknown, expired or revoked. */
  getById(id: string): Promise<TokenMetadata | null>;
  /** Removes the token; true when there was one. */
  delete(token: string): Promise<boolean>;
  /** The live tokens of a subject, soonest expiry first. */
  list(subject: string): Promise<TokenMetadata[]>;
  /** Revokes a live token; true when it was live. */
  revoke(token: string): Promise<boolean>;
  /** True while a revoked token would still have been valid. */
  isRevoked(token: string): Promise<boolean>;
  /** Removes expired entries, a bounded amount per call; returns how many. */
  cleanup(): Promise<number>;
  /** Releases connections the store holds. */
  close(): Promise<void>;
}

/**
 * A named, expiring lock shared by every process using the same backend, for work that must
 * happen once (minting a service token). Not a fence: hold it for less than its ttl.
 */
export interface StoreLock {
  /** Takes `name` for `ttlMs` when nobody holds it; returns the owner token to release with, or null. */
  acquire(name: string, ttlMs: number): Promise<string | null>;
  /** Releases `name` only if `owner` still holds it (compare-and-delete). */
  release(name: string, owner: string): Promise<void>;
}
