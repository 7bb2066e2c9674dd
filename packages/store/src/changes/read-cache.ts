import { inspect } from "node:util";
import type { Clock } from "../clock";
import type { StoreCodec } from "../codec";
import { resolveOptions, type StoreOptions } from "../options";
import type { TokenMetadata, TokenStore } from "../types";
import type { ChangeFeed, ChangeObserver } from "./change-feed";
import { IoWatermark } from "@tokenvault/kit";

export interface StoreReadCacheOptions extends StoreOptions {
  /**
   * The store's change notices (postgresChanges, redisChanges): entries are served only while it
   * is up. null: no other process writes this store (memory, the embedded database), so this
   * process's own writes (`forget`) keep the cache exact. Without either, do not cache (Upstash,
   * Vercel KV, a Redis Cluster: nothing to hear other processes' writes by).
   */
  changes: ChangeFeed | null;
  /** Most entries kept (oldest dropped first). Default 10,000. */
  maxEntries?: number;
  /** The event loop's I/O poll must have run within this long for an entry to be served. Default 20 ms. */
  maxStallMs?: number;
}

/** Past this many remembered changes the memory is reset, and every read started before is refused. */
const MAX_REMEMBERED = 10_000;

interface Entry {
  keys: readonly string[];
  metadata: TokenMetadata;
}

/**
 * A per-process cache of a store's `get`, kept exact by the store's change notices, with the token
 * cache's rules (packages/token token-cache.ts): while the feed is down, or not proven alive by its
 * heartbeat, every read goes to the store; when the feed is back, the cache starts empty; when the
 * event loop has not read its sockets lately, a read first waits for its next poll. A read in flight when a notice (or this process's own
 * write) about its entry arrives is passed through, not cached: every read takes a sequence number
 * first, and a notice after it refuses the fill. Keyed by the entry's blind index (what notices
 * name); only in memory; null answers are never cached.
 */
export class StoreReadCache implements ChangeObserver {
  private readonly entries = new Map<string, Entry>();
  /** Other ring keys' indexes of a cached entry, to its first (a notice names the row's index). */
  private readonly alias = new Map<string, string>();
  /** Sequence number of the last notice or local write per index (bounded, see MAX_REMEMBERED). */
  private readonly touchedAt = new Map<string, number>();
  private seq = 0;
  /** Reads started before this are refused: the feed went down or came back, or the memory was reset. */
  private floor = 0;
  private enabled: boolean;
  private readonly io: IoWatermark;
  private readonly codec: StoreCodec;
  private readonly clock: Clock;
  private readonly changes: ChangeFeed | null;
  private readonly maxEntries: number;
  /**
   * Reads answered from memory (hits), read from the store and offered to the cache (misses), and
   * sent to the store past it (bypassed: the feed down); `waited`: reads that found the event loop
   * behind on its sockets and waited for its next poll first (then a hit, a miss or bypassed).
   * For tests and metrics.
   */
  readonly counts = { hits: 0, misses: 0, bypassed: 0, down: 0, waited: 0 };

  constructor(
    private readonly store: TokenStore,
    options: StoreReadCacheOptions,
  ) {
    ({ codec: this.codec, clock: this.clock } = resolveOptions(options));
    this.changes = options.changes;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.io = new IoWatermark(options.maxStallMs ?? 20);
    this.enabled = this.changes === null;
    this.changes?.observe(this);
  }

  /** True while entries are served and stored. */
  get active(): boolean {
    return this.enabled && (this.changes === null || this.changes.up);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The token's live entry: from memory when it may be served, else the store's answer (remembered when safe). */
  async get(token: string): Promise<TokenMetadata | null> {
    const keys = this.codec.tokenKeys("get", token);
    if (this.active && this.changes !== null && !this.io.recent) {
      // Behind on its sockets: a notice may wait unread. One turn of the loop reads it (IoWatermark.nextPoll), cheaper than the store.
      this.counts.waited++;
      await this.io.nextPoll();
    }
    if (!this.active) {
      this.counts.bypassed++;
      this.counts.down++;
      return this.store.get(token);
    }
    const entry = this.entries.get(keys[0]!);
    if (entry && entry.metadata.expiresAt.getTime() > this.clock.now().getTime()) {
      this.counts.hits++;
      return structuredClone(entry.metadata);
    }
    this.counts.misses++;
    const ticket = this.seq;
    const found = await this.store.get(token);
    if (found) this.fill(keys, ticket, found);
    return found;
  }

  /** This process wrote the token's entry (the write has returned): drop it now, and refuse reads started before. */
  forget(token: string): void {
    this.seq++;
    for (const key of this.codec.tokenKeys("get", token)) this.touch(key);
  }

  // --- ChangeObserver ------------------------------------------------------------------------

  changed(tokenKey: string): void {
    this.seq++;
    this.touch(tokenKey);
  }

  /** The feed is down: what is cached may already be stale, and nothing would tell us. */
  down(): void {
    this.enabled = false;
    this.io.stop();
    this.clear();
  }

  /** Subscribed again: start empty (whatever changed meanwhile is read afresh), then serve. */
  up(): void {
    this.clear();
    this.io.start();
    this.enabled = true;
  }

  private fill(keys: readonly string[], ticket: number, metadata: TokenMetadata): void {
    if (!this.active || ticket < this.floor) return;
    if (keys.some((key) => (this.touchedAt.get(key) ?? -1) > ticket)) return;
    if (this.entries.size >= this.maxEntries) this.evictOldest();
    const [first, ...others] = keys as readonly [string, ...string[]];
    this.entries.delete(first); // re-inserted last: the newest
    this.entries.set(first, { keys, metadata: structuredClone(metadata) });
    for (const other of others) this.alias.set(other, first);
  }

  /** Records a notice (or local write) of `key` now and drops its entry. */
  private touch(key: string): void {
    if (this.touchedAt.size >= MAX_REMEMBERED) {
      this.touchedAt.clear();
      this.floor = this.seq;
    }
    this.touchedAt.set(key, this.seq);
    this.drop(this.alias.get(key) ?? key);
  }

  private drop(first: string): void {
    const entry = this.entries.get(first);
    if (!entry) return;
    this.entries.delete(first);
    for (const other of entry.keys.slice(1)) this.alias.delete(other);
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.drop(oldest.value);
  }

  private clear(): void {
    this.entries.clear();
    this.alias.clear();
    this.touchedAt.clear();
    this.seq++;
    this.floor = this.seq;
  }

  toJSON() {
    return { active: this.active, entries: this.entries.size };
  }

  [inspect.custom]() {
    return `StoreReadCache ${JSON.stringify(this.toJSON())}`;
  }
}
