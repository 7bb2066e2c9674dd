import { inspect } from "node:util";
import type { CacheMissReason, TokenMetrics } from "../metrics/token-metrics";
import type { ConnectionObserver } from "../refresh/connection-events";
import { refreshMarginFor } from "../refresh/freshness";
import type { ProviderTenant, ValidToken } from "../types";

/** Taken before a database read; an entry built from that read is stored only if nothing about it was notified since. */
export interface CacheTicket {
  readonly seq: number;
}

/** What a cached entry is built from: the connection as read, and the token opened from it. */
export interface CacheFill {
  connectionId: string;
  version: number;
  token: ValidToken;
  /** When the access token was issued: its lifetime caps the refresh margin (refreshMarginFor). */
  lastRefreshedAt: Date | null;
}

/** Past this many remembered notifications the memory is reset, and every older ticket is refused. */
const MAX_REMEMBERED = 10_000;
/** How often the event loop's I/O poll is observed. */
const IO_TICK_MS = 5;

/**
 * When this process last read its sockets. A notification can sit unread in the listener's
 * socket while the event loop is held up (a long synchronous task, CPU starvation); after such
 * a stall, timers and other sockets' callbacks may run before it is read. So the cache serves
 * only while the loop's I/O poll ran within `maxGapMs`: a setImmediate callback runs right after
 * each poll, and a light interval keeps an idle loop turning.
 */
class IoWatermark {
  private at = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private marking = false;
  private readonly mark = () => {
    this.marking = false;
    this.at = performance.now();
  };

  constructor(private readonly maxGapMs: number) {}

  start(): void {
    this.at = performance.now();
    this.timer ??= setInterval(() => this.markAfterPoll(), IO_TICK_MS);
    this.timer.unref();
  }

  private markAfterPoll(): void {
    if (this.marking) return;
    this.marking = true;
    setImmediate(this.mark);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** False after a stall; then the next poll is marked as soon as it has run. */
  get recent(): boolean {
    if (performance.now() - this.at <= this.maxGapMs) return true;
    this.markAfterPoll();
    return false;
  }
}

/**
 * One connection's current access token, opened. The plaintext is a private field: it never
 * appears in JSON.stringify or util.inspect (toJSON and the inspect hook print it hidden).
 */
class CachedToken {
  readonly #accessToken: string;

  constructor(
    readonly connectionId: string,
    readonly version: number,
    accessToken: string,
    readonly provider: ValidToken["provider"],
    readonly expiresAt: Date,
    readonly lastRefreshedAt: Date | null,
    readonly externalId: string | null,
    readonly tenants: readonly ProviderTenant[],
  ) {
    this.#accessToken = accessToken;
  }

  /** Fresh beyond the margin by the same rule as a database read (isFresh). */
  freshAt(now: number, marginMs: number): boolean {
    return this.expiresAt.getTime() - refreshMarginFor(this, marginMs) > now;
  }

  /** A new object per caller: nobody can change what the next caller gets. */
  token(): ValidToken {
    return {
      accessToken: this.#accessToken,
      tokenType: "Bearer",
      expiresAt: new Date(this.expiresAt.getTime()),
      provider: this.provider,
      externalId: this.externalId,
      tenants: this.tenants.map((t) => ({ ...t })),
    };
  }

  toJSON() {
    return { connectionId: this.connectionId, version: this.version, provider: this.provider, expiresAt: this.expiresAt, accessToken: "[hidden]" };
  }

  [inspect.custom]() {
    return `CachedToken ${JSON.stringify(this.toJSON())}`;
  }
}

/**
 * The process's warm path: each connection's current access token, opened, keyed by company and
 * provider, so a warm getValidToken makes no database query. Only in memory: never logged or
 * serialised. It is kept consistent by the LISTEN connection (it observes ConnectionEvents):
 * any notification about a connection drops its entry (a token set written, a token marked
 * invalid, a disconnect, a re-encryption by key rotation). While the listener is down, or not
 * proven alive by its heartbeat, the cache is bypassed (and emptied once it is given up); when it
 * is back, the cache starts empty (resynchronised) and fills again.
 *
 * A notification that arrives while a database read is in flight must not let that read's
 * (older) result in: every read takes a ticket first, and `fill` refuses it if its connection
 * was notified, or the listener went down or came back, after the ticket.
 */
export class TokenCache implements ConnectionObserver {
  private readonly entries = new Map<string, CachedToken>();
  private readonly keyOf = new Map<string, string>();
  /** Sequence number of the last notification of each connection id (bounded, see MAX_REMEMBERED). */
  private readonly notifiedAt = new Map<string, number>();
  /** Per connection in notifiedAt: the highest version its notifications named (null: one named none). */
  private readonly notifiedVersion = new Map<string, number | null>();
  /** The same, by key, for writes made by this process (see `forget`). */
  private readonly forgottenAt = new Map<string, number>();
  private seq = 0;
  /** Tickets older than this are refused: the listener went down or came back, or the memory was reset. */
  private floor = 0;
  private enabled = false;
  private readonly io: IoWatermark;

  /**
   * `maxStallMs`: see IoWatermark (TokenServiceOptions.tokenCacheStallMs). `listenerAlive`: the
   * listener's heartbeat echoed within its bound (ConnectionEvents.up), asked on every get: a
   * listener whose path died silently is reported down only when a timer runs, maybe late.
   */
  constructor(
    private readonly metrics: TokenMetrics | null,
    maxStallMs = 20,
    private readonly listenerAlive: () => boolean = () => true,
  ) {
    this.io = new IoWatermark(maxStallMs);
  }

  /** True while entries are served and stored (the listener is up and proven alive). */
  get active(): boolean {
    return this.enabled && this.listenerAlive();
  }

  get size(): number {
    return this.entries.size;
  }

  static key(companyId: string, provider: string): string {
    return `${companyId}\u0000${provider}`;
  }

  /**
   * The cached token while it is fresh beyond `marginMs`, else undefined (counted as a miss).
   * Also undefined when this process has not read its sockets lately (see IoWatermark).
   */
  get(key: string, provider: string, marginMs: number, now: number): ValidToken | undefined {
    let reason: CacheMissReason;
    if (!this.enabled || !this.listenerAlive()) reason = "listener_down";
    else if (!this.io.recent) reason = "stalled";
    else {
      const entry = this.entries.get(key);
      if (entry?.freshAt(now, marginMs)) {
        this.metrics?.tokenCacheHits.inc({ provider });
        return entry.token();
      }
      reason = entry ? "refresh_due" : "absent";
    }
    this.metrics?.tokenCacheMisses.inc({ provider, reason });
    return undefined;
  }

  /** Taken before the database read an entry would be built from; null while the cache is off. */
  ticket(): CacheTicket | null {
    return this.active ? { seq: this.seq } : null;
  }

  /** Stores what a read found, unless something about the connection was notified after `ticket`. */
  fill(key: string, ticket: CacheTicket | null, fill: CacheFill): void {
    if (!this.active || !ticket || ticket.seq < this.floor) return;
    if ((this.notifiedAt.get(fill.connectionId) ?? -1) > ticket.seq && !this.shows(fill)) return;
    if ((this.forgottenAt.get(key) ?? -1) > ticket.seq) return;
    const previous = this.entries.get(key);
    if (previous && previous.connectionId !== fill.connectionId) this.keyOf.delete(previous.connectionId);
    const { token } = fill;
    const tenants = token.tenants.map((t) => Object.freeze({ ...t }));
    this.entries.set(key, new CachedToken(fill.connectionId, fill.version, token.accessToken, token.provider, token.expiresAt, fill.lastRefreshedAt, token.externalId, tenants));
    this.keyOf.set(fill.connectionId, key);
  }

  /**
   * A write by this process (disconnect, markTokenInvalid, reconnect) has committed: the entry
   * goes at once, so this process reads its own write without waiting for the notification.
   */
  forget(key: string): void {
    this.seq++;
    this.remember(this.forgottenAt, key);
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.keyOf.delete(entry.connectionId);
    this.metrics?.tokenCacheInvalidations.inc({ cause: "local" });
  }

  // --- ConnectionObserver ------------------------------------------------------------------

  notified(connectionId: string, version: number | null = null): void {
    this.seq++;
    this.remember(this.notifiedAt, connectionId);
    const seen = this.notifiedVersion.get(connectionId);
    // The highest version notified; null (a removal, a re-encryption) sticks until the memory is reset.
    this.notifiedVersion.set(connectionId, version === null || seen === null ? null : Math.max(version, seen ?? -1));
    const key = this.keyOf.get(connectionId);
    if (key === undefined) return;
    // The entry already shows that write (a refresh of this process, cached from what its write
    // returned, before the write's own notification arrived): it stays. Older fills are refused above.
    if (version !== null && (this.entries.get(key)?.version ?? -1) >= version) return;
    this.keyOf.delete(connectionId);
    if (this.entries.delete(key)) this.metrics?.tokenCacheInvalidations.inc({ cause: "notify" });
  }

  /** The listener is down: what is cached may already be stale, and nothing would tell us. */
  down(): void {
    this.enabled = false;
    this.io.stop();
    this.clear();
  }

  /** LISTEN is active again: start empty (whatever changed meanwhile is read afresh), then serve. */
  up(): void {
    this.clear();
    this.io.start();
    this.enabled = true;
  }

  /** True when `fill` was read at or after every write notified for its connection (its own write, read back from the write). */
  private shows(fill: CacheFill): boolean {
    const notified = this.notifiedVersion.get(fill.connectionId);
    return notified !== undefined && notified !== null && fill.version >= notified;
  }

  /** Records `id` at the current sequence number; past MAX_REMEMBERED, forgets all and refuses older tickets. */
  private remember(map: Map<string, number>, id: string): void {
    if (this.notifiedAt.size + this.forgottenAt.size >= MAX_REMEMBERED) {
      this.notifiedAt.clear();
      this.notifiedVersion.clear();
      this.forgottenAt.clear();
      this.floor = this.seq;
    }
    map.set(id, this.seq);
  }

  private clear(): void {
    if (this.entries.size > 0) this.metrics?.tokenCacheInvalidations.inc({ cause: "listener" }, this.entries.size);
    this.entries.clear();
    this.keyOf.clear();
    this.notifiedAt.clear();
    this.notifiedVersion.clear();
    this.forgottenAt.clear();
    this.seq++;
    this.floor = this.seq;
  }

  toJSON() {
    return { active: this.enabled, entries: this.entries.size };
  }

  [inspect.custom]() {
    return `TokenCache ${JSON.stringify(this.toJSON())}`;
  }
}
