/**
 * withFallback(primary): the in-memory fallback, made explicit. The policy:
 *
 * - While the primary works, every result is passed through, and what this process wrote or read
 *   is remembered in a small in-process cache: for a window (default 60 s from the last time the
 *   primary confirmed it), at most `maxEntries` (least recently confirmed dropped first).
 * - When the primary fails with UNAVAILABLE or TIMEOUT the store is degraded (`degraded`,
 *   `onStateChange`), and:
 *   `get`/`getById` serve only cached entries within their window, unexpired, not revoked or
 *   deleted here, and tokens first written here during the outage until their write reaches the
 *   primary (nobody else can have seen them); a token known here to be revoked, deleted, expired
 *   or absent (the primary answered null for it within `removedWindowMs`) is null; any other
 *   token is the primary's error (UNAVAILABLE/TIMEOUT), never a guessed null. `list` serves what
 *   the cache knows of the subject (possibly fewer tokens than the primary holds). `store` is
 *   cached and queued (CONFLICT for a token revoked here). `revoke`/`delete` take effect here at once and are
 *   queued; their boolean says what this process knew. `isRevoked` is true for revocations known
 *   here, false for a cached live token, else the primary's error. `cleanup` is the primary's error.
 * - Before any call reaches the primary again, the queue is written to it: revocations and deletes
 *   first, in order, then stores (a queued store of a token then revoked or deleted here is
 *   dropped, so the order never resurrects one). A queued write the primary refuses for good
 *   (CONFLICT: revoked elsewhere; expired meanwhile) is dropped and its token not served here.
 *   While degraded, a probe retries every `probeIntervalMs`, so recovery needs no traffic.
 * - A token revoked before the outage is never served: revocations are remembered (made here, or
 *   reported by the primary's revoke/isRevoked; a read answering null remembers the token absent
 *   for `removedWindowMs`), a revoke
 *   or delete of a token this process only knows by id (getById, list) forgets every such entry,
 *   and a result that raced a revoke or delete is passed through but not cached. Not covered: a
 *   token revoked by another process after this one last read it is served until its window ends.
 * - Any other error (INVALID_INPUT, CORRUPT, CONFLICT, CAPACITY) is passed through, never masked.
 *
 * One class, a little over 300 lines, on purpose: every method applies this one policy to the
 * same cache and queue, and splitting them would spread the policy over files.
 *
 * Queued writes hold the token itself until written, at most `maxPendingWrites` (beyond, a write
 * fails with the primary's error; a revoke or delete is still honoured here). The cache
 * (fallback-cache.ts) holds metadata keyed by token id and blind index, never tokens.
 */
import { byExpiry, type Clock } from "./clock";
import type { StoreCodec } from "./codec";
import { StorageError, type StorageOperation } from "./errors";
import { FallbackCache, type CachedToken } from "./fallback-cache";
import { resolveOptions, type StoreOptions } from "./options";
import type { NewTokenMetadata, TokenMetadata, TokenStore } from "./types";

export interface FallbackOptions extends StoreOptions {
  /** How long an entry is served from the cache after the primary last confirmed it. Default 60 s. */
  windowMs?: number;
  /**
   * How long a token known here to be gone (revoked or deleted here, or answered absent by the
   * primary) is answered null during an outage. Default: windowMs. A revocation is remembered at
   * least until the token would have expired, when that is known.
   */
  removedWindowMs?: number;
  /** Most cached entries (and, separately, remembered removals). Default 1,000. */
  maxEntries?: number;
  /** Most writes queued during an outage. Default 10,000. */
  maxPendingWrites?: number;
  /** How often a degraded store retries the primary on its own. Default 1 s; 0 turns it off. */
  probeIntervalMs?: number;
  /** Called when the store becomes degraded (true, with the primary's error) and when it recovers. */
  onStateChange?: (degraded: boolean, cause: StorageError | null) => void;
}

/** A queued store is `fresh` when this process knew nothing of the token from the primary: first written here during the outage. */
type Pending = { op: "revoke" | "delete"; token: string; tokenKey: string } | { op: "store"; token: string; tokenKey: string; metadata: TokenMetadata; fresh: boolean };
type PendingStore = Extract<Pending, { op: "store" }>;

const isOutage = (error: unknown): error is StorageError => error instanceof StorageError && (error.code === "UNAVAILABLE" || error.code === "TIMEOUT");
const PROBE_TOKEN = "tokenvault-fallback-probe";

/** A TokenStore that serves from an in-process cache while its primary is unavailable (policy above). */
export class FallbackTokenStore implements TokenStore {
  private readonly cache: FallbackCache;
  private readonly removals: Pending[] = [];
  private readonly stores: Pending[] = [];
  private draining: Promise<void> | null = null;
  private probe: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private isDegraded = false;
  /** Counts revokes and deletes: a read or store that overlapped one is passed through, not cached. */
  private removalsSeen = 0;
  /** Counts stores: a null read that overlapped one is not remembered as absent. */
  private storesSeen = 0;
  private readonly codec: StoreCodec;
  private readonly clock: Clock;
  private readonly maxPending: number;

  constructor(
    private readonly primary: TokenStore,
    private readonly options: FallbackOptions = {},
  ) {
    ({ codec: this.codec, clock: this.clock } = resolveOptions(options));
    const windowMs = options.windowMs ?? 60_000;
    this.cache = new FallbackCache(this.clock, windowMs, options.maxEntries ?? 1_000, options.removedWindowMs ?? windowMs);
    this.maxPending = options.maxPendingWrites ?? 10_000;
  }

  /** True from a primary failure (UNAVAILABLE/TIMEOUT) until the primary answers and the queue is written. */
  get degraded(): boolean {
    return this.isDegraded;
  }

  /** Writes queued while degraded, not yet written to the primary. */
  get pendingWrites(): number {
    return this.removals.length + this.stores.length;
  }

  async store(token: string, metadata: NewTokenMetadata): Promise<void> {
    const now = this.clock.now();
    const { tokenKey } = this.codec.encode(token, metadata, now); // INVALID_INPUT here as on every backend
    const known: TokenMetadata = structuredClone({ ...metadata, issuedAt: metadata.issuedAt ?? now });
    this.storesSeen++;
    return this.call("store", () => this.primary.store(token, metadata), () => this.cache.remember(known, tokenKey), (outage) => {
      if (this.revokedHere(tokenKey)) throw new StorageError("store", "CONFLICT", "the token was revoked", tokenKey);
      if (this.pendingWrites >= this.maxPending) throw outage;
      const fresh = this.queuedStore(tokenKey)?.fresh ?? !this.cache.byToken(tokenKey);
      this.dropQueuedStore(tokenKey);
      this.stores.push({ op: "store", token, tokenKey, metadata: known, fresh });
      this.cache.remember(known, tokenKey);
    });
  }

  async get(token: string): Promise<TokenMetadata | null> {
    const key = this.tokenKey("get", token);
    const stores = this.storesSeen;
    // Absent in the primary: known gone (a read that raced a store here may predate it: only forgotten).
    const learn = (found: TokenMetadata | null) => (found ? this.cache.remember(found, key) : stores === this.storesSeen ? this.cache.markAbsent(key) : this.cache.forgetToken(key));
    return this.call("get", () => this.primary.get(token), learn, (outage) => this.serve("get", outage, this.cache.byToken(key), key));
  }

  async getById(id: string): Promise<TokenMetadata | null> {
    this.codec.idKeys("getById", id);
    const learn = (found: TokenMetadata | null) => (found ? this.cache.remember(found, null) : this.cache.forgetId(id));
    return this.call("getById", () => this.primary.getById(id), learn, (outage) => this.serve("getById", outage, this.cache.byId(id), null, id));
  }

  async list(subject: string): Promise<TokenMetadata[]> {
    this.codec.subjectKeys("list", subject);
    const learn = (found: TokenMetadata[]) => {
      const live = new Set(found.map((metadata) => metadata.id));
      for (const entry of this.cache.ofSubject(subject)) if (!live.has(entry.metadata.id)) this.cache.forgetId(entry.metadata.id);
      for (const metadata of found) this.cache.remember(metadata, null);
    };
    const known = () => {
      const live = this.cache
        .ofSubject(subject)
        .filter((entry) => this.cache.standing(entry) === "live")
        .map((entry) => structuredClone(entry.metadata));
      const ids = new Set(live.map((metadata) => metadata.id));
      const written = this.stores.filter((p) => p.op === "store" && p.fresh && p.metadata.subject === subject && !ids.has(p.metadata.id) && this.unexpired(p.metadata));
      return [...live, ...written.map((p) => structuredClone((p as PendingStore).metadata))].sort(byExpiry);
    };
    return this.call("list", () => this.primary.list(subject), learn, known);
  }

  async revoke(token: string): Promise<boolean> {
    const key = this.tokenKey("revoke", token);
    const expiresAt = this.cache.byToken(key)?.metadata.expiresAt;
    this.removalsSeen++;
    const learn = (revoked: boolean) => (revoked ? this.cache.markRemoved(key, true, expiresAt) : this.cache.forgetToken(key, true));
    return this.call("revoke", () => this.primary.revoke(token), learn, (outage) => this.queueRemoval("revoke", token, key, outage));
  }

  async delete(token: string): Promise<boolean> {
    const key = this.tokenKey("delete", token);
    this.removalsSeen++;
    return this.call("delete", () => this.primary.delete(token), () => this.cache.markRemoved(key, false), (outage) => this.queueRemoval("delete", token, key, outage));
  }

  async isRevoked(token: string): Promise<boolean> {
    const key = this.tokenKey("isRevoked", token);
    const learn = (revoked: boolean) => (revoked ? this.cache.markRemoved(key, true) : this.cache.unmarkRevoked(key));
    return this.call("isRevoked", () => this.primary.isRevoked(token), learn, (outage) => {
      if (this.revokedHere(key)) return true;
      const cached = this.cache.byToken(key);
      if (cached && this.cache.standing(cached) === "live") return false;
      if (this.queuedStore(key)?.fresh) return false;
      throw this.restate("isRevoked", outage);
    });
  }

  async cleanup(): Promise<number> {
    const unavailable = (outage: StorageError): number => {
      throw this.restate("cleanup", outage);
    };
    return this.call("cleanup", () => this.primary.cleanup(), () => this.cache.sweep(), unavailable);
  }

  /** Writes the queued operations now; the primary's error if it is still unavailable. */
  flush(): Promise<void> {
    return this.drain();
  }

  /** Tries once more to write what is queued (what still is after that is lost), then closes the primary. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probe);
    await this.drain().catch(() => {});
    this.cache.clear();
    await this.primary.close();
  }

  /** One operation: the queue first, then the primary; `degraded` on UNAVAILABLE/TIMEOUT; other errors pass. */
  private async call<T>(op: StorageOperation, primary: () => Promise<T>, learn: (result: T) => unknown, degraded: (outage: StorageError) => T): Promise<T> {
    let result: T;
    const seen = this.removalsSeen;
    try {
      await this.drain();
      result = await primary();
    } catch (error) {
      if (!isOutage(error)) throw error;
      this.setDegraded(true, error);
      return degraded(this.restate(op, error));
    }
    // A result that raced a revoke or delete may predate it: passed through, not learnt.
    if (op === "revoke" || op === "delete" || seen === this.removalsSeen) learn(result);
    if (this.pendingWrites === 0) this.setDegraded(false, null);
    return result;
  }

  /** Writes the queue to the primary, removals before stores; one drain at a time. */
  private drain(): Promise<void> {
    if (this.pendingWrites === 0) return Promise.resolve();
    return (this.draining ??= this.writeQueued().finally(() => (this.draining = null)));
  }

  private async writeQueued(): Promise<void> {
    for (let next = this.removals[0] ?? this.stores[0]; next; next = this.removals[0] ?? this.stores[0]) {
      const queue = next.op === "store" ? this.stores : this.removals;
      try {
        if (next.op !== "store") await this.primary[next.op](next.token);
        else if (next.metadata.expiresAt.getTime() > this.clock.now().getTime()) await this.primary.store(next.token, next.metadata);
      } catch (error) {
        if (isOutage(error)) throw error;
        // Refused for good: retrying would block the queue forever. Not served from here either.
        if (error instanceof StorageError && error.code === "CONFLICT") this.cache.markRemoved(next.tokenKey, true);
        else this.cache.forgetToken(next.tokenKey);
      }
      const at = queue.indexOf(next); // a revoke meanwhile may have dropped a queued store
      if (at >= 0) queue.splice(at, 1);
    }
  }

  private queueRemoval(op: "revoke" | "delete", token: string, key: string, outage: StorageError): boolean {
    const cached = this.cache.byToken(key);
    const written = this.queuedStore(key);
    const known = (!!cached && this.cache.standing(cached) === "live") || (!!written?.fresh && this.unexpired(written.metadata));
    const wasLive = known && !this.revokedHere(key);
    this.cache.markRemoved(key, op === "revoke", cached?.metadata.expiresAt); // honoured here at once, whatever follows
    if (this.pendingWrites >= this.maxPending) throw outage;
    this.dropQueuedStore(key);
    this.removals.push({ op, token, tokenKey: key });
    return wasLive;
  }

  /** get/getById while degraded: a cached live entry, null when known removed or expired, else the outage. */
  private serve(op: "get" | "getById", outage: StorageError, entry: CachedToken | undefined, key: string | null, id?: string): TokenMetadata | null {
    if (key && this.cache.isRemoved(key)) return null;
    const standing = entry && !(entry.tokenKey && this.revokedHere(entry.tokenKey)) ? this.cache.standing(entry) : "stale";
    if (standing === "expired") return null;
    if (standing === "live") return structuredClone(entry!.metadata);
    // Written here first, during the outage: this process is its only authority until the primary has it.
    const written = key ? this.queuedStore(key) : this.stores.find((p) => p.op === "store" && p.metadata.id === id);
    if (written?.op === "store" && written.fresh) return this.unexpired(written.metadata) ? structuredClone(written.metadata) : null;
    throw this.restate(op, outage);
  }

  private queuedStore(key: string): PendingStore | undefined {
    return this.stores.find((pending): pending is PendingStore => pending.op === "store" && pending.tokenKey === key);
  }

  private unexpired(metadata: TokenMetadata): boolean {
    return metadata.expiresAt.getTime() > this.clock.now().getTime();
  }

  /** Revoked as far as this process knows: remembered, or queued for the primary. */
  private revokedHere(key: string): boolean {
    return this.cache.isRevoked(key) || this.removals.some((pending) => pending.op === "revoke" && pending.tokenKey === key);
  }

  private dropQueuedStore(key: string): void {
    const at = this.stores.findIndex((pending) => pending.tokenKey === key);
    if (at >= 0) this.stores.splice(at, 1);
  }

  private tokenKey(op: StorageOperation, token: string): string {
    return this.codec.tokenKeys(op, token)[0]!;
  }

  /** The primary's outage error, as the caller's operation. */
  private restate(op: StorageOperation, error: StorageError): StorageError {
    return error.op === op ? error : new StorageError(op, error.code, error.detail, null, { cause: error });
  }

  private setDegraded(degraded: boolean, cause: StorageError | null): void {
    if (degraded === this.isDegraded) return;
    this.isDegraded = degraded;
    clearInterval(this.probe);
    if (degraded && !this.closed && this.options.probeIntervalMs !== 0) {
      this.probe = setInterval(() => void this.probeOnce(), this.options.probeIntervalMs ?? 1_000);
      this.probe.unref();
    }
    try {
      this.options.onStateChange?.(degraded, cause);
    } catch {
      // a failing listener must not change the store's answer
    }
  }

  /** While degraded: writes the queue, or checks the primary answers, so recovery needs no traffic. */
  private async probeOnce(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.call("get", () => this.primary.get(PROBE_TOKEN), () => {}, () => null);
    } catch {
      // not an outage (those are answered above), and not this probe's to report
    } finally {
      this.probing = false;
    }
  }
}

/** Wraps a store (typically Redis) with the in-memory fallback; see FallbackTokenStore. */
export function withFallback(primary: TokenStore, options: FallbackOptions = {}): FallbackTokenStore {
  return new FallbackTokenStore(primary, options);
}
