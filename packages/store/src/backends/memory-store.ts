import { byExpiry, type Clock } from "../clock";
import type { StoreCodec } from "../codec";
import { StorageError } from "../errors";
import { checkLockName, checkLockOwner, checkLockTtl, newLockOwner } from "../lock-input";
import { resolveOptions, type StoreOptions } from "../options";
import type { NewTokenMetadata, StoreLock, TokenMetadata, TokenStore } from "../types";

/** Runs a synchronous operation as the interface's promise: a thrown error becomes a rejection. */
function attempt<T>(operation: () => T): Promise<T> {
  return new Promise((resolve) => resolve(operation()));
}

interface Entry {
  /** Frozen (claims and scopes included); handed out as a shallow copy with fresh Dates. */
  metadata: Readonly<TokenMetadata>;
  subjectKey: string;
  idKey: string;
  expiresAtMs: number;
}

export interface InMemoryTokenStoreOptions extends StoreOptions {
  /** Refuses new tokens beyond this many live entries (after sweeping expired ones). Default 10,000. */
  maxEntries?: number;
  /** How often expired entries are swept on their own. Default 60 s; 0 turns the sweep off. */
  sweepIntervalMs?: number;
  /** Entries removed per cleanup call at most. Default 1,000. */
  cleanupBatch?: number;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** A caller's copy: the frozen scopes and claims are shared, the Dates are fresh. */
function copyOf(metadata: Readonly<TokenMetadata>): TokenMetadata {
  return { ...metadata, expiresAt: new Date(metadata.expiresAt), issuedAt: new Date(metadata.issuedAt) };
}

/**
 * One process's store, for development, tests and single-process apps. Same rules as every
 * backend: tokens, subjects and ids only as blind indexes (no token is ever a key), expiry by
 * the clock, bounded size, a sweep that runs on its own. Metadata stays in the process's heap
 * as objects: nothing is at rest, so nothing is sealed (the other backends seal it).
 */
export class InMemoryTokenStore implements TokenStore, StoreLock {
  private readonly entries = new Map<string, Entry>();
  private readonly subjects = new Map<string, Set<string>>();
  private readonly ids = new Map<string, string>();
  /** Revoked token keys, until the token would have expired. */
  private readonly revoked = new Map<string, number>();
  /** Held locks: name -> owner and expiry (this process only, like the rest of this store). */
  private readonly locks = new Map<string, { owner: string; expiresAtMs: number }>();
  private readonly codec: StoreCodec;
  private readonly clock: Clock;
  private readonly maxEntries: number;
  private readonly cleanupBatch: number;
  private readonly sweep: NodeJS.Timeout | undefined;

  constructor(options: InMemoryTokenStoreOptions = {}) {
    ({ codec: this.codec, clock: this.clock } = resolveOptions(options));
    this.maxEntries = options.maxEntries ?? 10_000;
    this.cleanupBatch = options.cleanupBatch ?? 1_000;
    const interval = options.sweepIntervalMs ?? 60_000;
    if (interval > 0) {
      this.sweep = setInterval(() => void this.cleanup(), interval);
      this.sweep.unref();
    }
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  store(token: string, metadata: NewTokenMetadata): Promise<void> {
    return attempt(() => this.write(token, metadata));
  }

  private write(token: string, metadata: NewTokenMetadata): void {
    const entry = this.codec.validate(token, metadata, this.clock.now());
    const now = this.now();
    if ((this.revoked.get(entry.tokenKey) ?? 0) > now) throw new StorageError("store", "CONFLICT", "the token was revoked", entry.tokenKey);
    if (!this.entries.has(entry.tokenKey) && this.entries.size >= this.maxEntries) {
      this.removeExpired(Infinity);
      if (this.entries.size >= this.maxEntries) throw new StorageError("store", "CAPACITY", `the memory store holds its maximum of ${this.maxEntries} tokens`, entry.tokenKey);
    }
    this.unlink(entry.tokenKey);
    this.entries.set(entry.tokenKey, { metadata: deepFreeze(entry.metadata), subjectKey: entry.subjectKey, idKey: entry.idKey, expiresAtMs: entry.expiresAtMs });
    let members = this.subjects.get(entry.subjectKey);
    if (!members) this.subjects.set(entry.subjectKey, (members = new Set()));
    members.add(entry.tokenKey);
    this.ids.set(entry.idKey, entry.tokenKey);
  }

  get(token: string): Promise<TokenMetadata | null> {
    return attempt(() => this.liveByKeys(this.codec.tokenKeys("get", token)));
  }

  getById(id: string): Promise<TokenMetadata | null> {
    return attempt(() => this.liveByKeys(this.codec.idKeys("getById", id).flatMap((idKey) => this.ids.get(idKey) ?? [])));
  }

  delete(token: string): Promise<boolean> {
    return attempt(() => {
      const now = this.now();
      let deleted = false;
      for (const key of this.codec.tokenKeys("delete", token)) {
        const entry = this.entries.get(key);
        if (!entry) continue;
        deleted ||= entry.expiresAtMs > now;
        this.unlink(key);
      }
      return deleted;
    });
  }

  list(subject: string): Promise<TokenMetadata[]> {
    return attempt(() => {
      const now = this.now();
      const found: TokenMetadata[] = [];
      for (const subjectKey of this.codec.subjectKeys("list", subject)) {
        for (const key of this.subjects.get(subjectKey) ?? []) {
          const entry = this.entries.get(key);
          if (entry && entry.expiresAtMs > now) found.push(copyOf(entry.metadata));
        }
      }
      return found.sort(byExpiry);
    });
  }

  revoke(token: string): Promise<boolean> {
    return attempt(() => {
      const now = this.now();
      for (const key of this.codec.tokenKeys("revoke", token)) {
        const entry = this.entries.get(key);
        if (!entry || entry.expiresAtMs <= now) continue;
        this.unlink(key);
        this.revoked.set(key, entry.expiresAtMs);
        return true;
      }
      return false;
    });
  }

  isRevoked(token: string): Promise<boolean> {
    const now = this.now();
    return attempt(() => this.codec.tokenKeys("isRevoked", token).some((key) => (this.revoked.get(key) ?? 0) > now));
  }

  cleanup(): Promise<number> {
    return attempt(() => this.removeExpired(this.cleanupBatch));
  }

  acquire(name: string, ttlMs: number): Promise<string | null> {
    return attempt(() => {
      const [lockName, ttl, now] = [checkLockName(name), checkLockTtl(ttlMs), this.now()];
      if ((this.locks.get(lockName)?.expiresAtMs ?? 0) > now) return null;
      const owner = newLockOwner();
      this.locks.set(lockName, { owner, expiresAtMs: now + ttl });
      return owner;
    });
  }

  release(name: string, owner: string): Promise<void> {
    return attempt(() => {
      const [lockName, lockOwner] = [checkLockName(name), checkLockOwner(owner)];
      if (this.locks.get(lockName)?.owner === lockOwner) this.locks.delete(lockName);
    });
  }

  close(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    return Promise.resolve();
  }

  private liveByKeys(keys: readonly string[]): TokenMetadata | null {
    const now = this.now();
    for (const key of keys) {
      if ((this.revoked.get(key) ?? 0) > now) return null;
      const entry = this.entries.get(key);
      if (entry && entry.expiresAtMs > now) return copyOf(entry.metadata);
    }
    return null;
  }

  /** Removes an entry and its index entries. */
  private unlink(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const members = this.subjects.get(entry.subjectKey);
    members?.delete(key);
    if (members?.size === 0) this.subjects.delete(entry.subjectKey);
    if (this.ids.get(entry.idKey) === key) this.ids.delete(entry.idKey);
  }

  private removeExpired(limit: number): number {
    const now = this.now();
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (removed >= limit) break;
      if (entry.expiresAtMs <= now) {
        this.unlink(key);
        removed++;
      }
    }
    for (const [key, until] of this.revoked) if (until <= now) this.revoked.delete(key);
    for (const [name, lock] of this.locks) if (lock.expiresAtMs <= now) this.locks.delete(name);
    return removed;
  }
}
