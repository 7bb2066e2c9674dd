// The warm path's cache and the invariants that keep it exact (notification tickets, own writes,
// listener loss, event-loop stalls) in one class of a little over 300 lines, on purpose: each
// rule guards the same entries and sequence numbers, and split apart they would share that state.
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import type { CacheMissReason, TokenMetrics } from "../metrics/token-metrics";
import type { ConnectionObserver } from "../refresh/connection-events";
import { refreshMarginFor } from "../refresh/freshness";
import { IoWatermark } from "@tokenvault/kit";
import type { ProviderTenant, ValidToken } from "../types";

/** Taken before a database read; an entry built from that read is stored only if nothing about it was notified since. */
export interface CacheTicket {
  readonly seq: number;
}

/** What a cached entry is built from: the grant as read, and the token opened from it. */
export interface CacheFill {
  /** The grant the token is from: a notification about it (a refresh, a removal) drops the entry, unless the entry already shows that version. */
  grantId: string;
  /** Other ids whose notification drops the entry: the connection read, and the scope a company-and-provider read resolved. */
  watch: readonly string[];
  /** The company the connection belongs to: a read naming another company never hits. */
  companyId: string;
  version: number;
  token: ValidToken;
  /** When the access token was issued: its lifetime caps the refresh margin (refreshMarginFor). */
  lastRefreshedAt: Date | null;
}

/** Past this many remembered notifications the memory is reset, and every older ticket is refused. */
const MAX_REMEMBERED = 10_000;
/**
 * One connection's current access token, opened. The plaintext is a private field: it never
 * appears in JSON.stringify or util.inspect (toJSON and the inspect hook print it hidden).
 */
class CachedToken {
  readonly #accessToken: string;

  constructor(
    readonly grantId: string,
    readonly watch: readonly string[],
    readonly companyId: string,
    readonly version: number,
    accessToken: string,
    readonly provider: ValidToken["provider"],
    readonly expiresAt: Date,
    readonly lastRefreshedAt: Date | null,
    readonly externalId: string | null,
    readonly tenants: readonly ProviderTenant[],
    readonly connectionId: string,
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
      connectionId: this.connectionId,
      companyId: this.companyId,
    };
  }

  toJSON() {
    return { grantId: this.grantId, version: this.version, provider: this.provider, expiresAt: this.expiresAt, accessToken: "[hidden]" };
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
/** companyId/provider → its scope id (md5), remembered: the same few names are asked again and again. */
const SCOPE_IDS = new Map<string, string>();

export class TokenCache implements ConnectionObserver {
  private readonly entries = new Map<string, CachedToken>();
  /** Per grant, connection or scope id: the keys whose entries a notification of it drops. */
  private readonly keysOf = new Map<string, Set<string>>();
  /** Sequence number of the last notification of each connection id (bounded, see MAX_REMEMBERED). */
  private readonly notifiedAt = new Map<string, number>();
  /** Per connection in notifiedAt: the highest version its notifications named (null: one named none). */
  private readonly notifiedVersion = new Map<string, number | null>();
  /** The same, for writes made by this process (see `forget`): a fill read before one is refused whatever its version. */
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

  /** The key of a read by connection id. */
  static key(connectionId: string): string {
    return `id\u0000${connectionId}`;
  }

  /** The key of a read by company and provider, with the external id it selected (undefined: the only one). */
  static selectorKey(companyId: string, provider: string, externalId: string | undefined): string {
    return `sel\u0000${companyId}\u0000${provider}\u0000${externalId === undefined ? "\u0001" : externalId}`;
  }

  /**
   * The id a change of a company's connections of a provider is notified under (the
   * Connection_scope_notify trigger: md5(companyId || '/' || provider)).
   */
  static scopeId(companyId: string, provider: string): string {
    // Asked on every warm read by company and provider (tokenService.fetch's hot path): an md5 each time showed in its profile.
    const name = `${companyId}/${provider}`;
    let id = SCOPE_IDS.get(name);
    if (id === undefined) {
      if (SCOPE_IDS.size >= 10_000) SCOPE_IDS.clear(); // bounded: recomputing is cheap
      SCOPE_IDS.set(name, (id = createHash("md5").update(name).digest("hex")));
    }
    return id;
  }

  /**
   * The cached token while it is fresh beyond `marginMs`, else undefined (counted as a miss).
   * Also undefined when this process has not read its sockets lately (see IoWatermark).
   */
  get(key: string, provider: string, marginMs: number, now: number, companyId?: string): ValidToken | undefined {
    let reason: CacheMissReason;
    if (!this.enabled || !this.listenerAlive()) reason = "listener_down";
    else if (!this.io.recent) reason = "stalled";
    else {
      const found = this.entries.get(key);
      const entry = companyId === undefined || found?.companyId === companyId ? found : undefined;
      if (entry?.freshAt(now, marginMs)) {
        this.metrics?.tokenCacheHits.inc({ provider });
        return entry.token();
      }
      reason = entry ? "refresh_due" : "absent";
    }
    this.metrics?.tokenCacheMisses.inc({ provider, reason });
    return undefined;
  }

  /**
   * Undefined when `get` may be asked now; else, when the event loop has not read its sockets
   * lately, a wait for its next poll (IoWatermark.nextPoll): a notification that was waiting
   * unread is handled first, so the entry may then be served. Waiting costs the caller one turn of
   * the loop, where going to the database would cost a round trip (read back in a later turn).
   */
  waitIfBehind(): Promise<void> | undefined {
    if (!this.enabled || !this.listenerAlive() || this.io.recent) return undefined;
    this.metrics?.tokenCachePollWaits.inc();
    return this.io.nextPoll();
  }

  /** Taken before the database read an entry would be built from; null while the cache is off. */
  ticket(): CacheTicket | null {
    return this.active ? { seq: this.seq } : null;
  }

  /** Stores what a read found, unless something about the connection was notified after `ticket`. */
  fill(key: string, ticket: CacheTicket | null, fill: CacheFill): void {
    if (!this.active || !ticket || ticket.seq < this.floor) return;
    if ((this.notifiedAt.get(fill.grantId) ?? -1) > ticket.seq && !this.shows(fill)) return;
    if (fill.watch.some((id) => (this.notifiedAt.get(id) ?? -1) > ticket.seq)) return;
    if ([fill.grantId, ...fill.watch].some((id) => (this.forgottenAt.get(id) ?? -1) > ticket.seq)) return;
    this.drop(key);
    const { token } = fill;
    const tenants = token.tenants.map((t) => Object.freeze({ ...t }));
    const entry = new CachedToken(fill.grantId, fill.watch, fill.companyId, fill.version, token.accessToken, token.provider, token.expiresAt, fill.lastRefreshedAt, token.externalId, tenants, token.connectionId);
    this.entries.set(key, entry);
    for (const id of [fill.grantId, ...fill.watch]) {
      const keys = this.keysOf.get(id) ?? new Set<string>();
      keys.add(key);
      this.keysOf.set(id, keys);
    }
  }

  /** Removes the entry at `key` and its links; true when there was one. */
  private drop(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    for (const id of [entry.grantId, ...entry.watch]) {
      const keys = this.keysOf.get(id);
      keys?.delete(key);
      if (keys?.size === 0) this.keysOf.delete(id);
    }
    return true;
  }

  /**
   * A write by this process (disconnect, markTokenInvalid, reconnect) has committed: the entries
   * about these grant, connection or scope ids go at once, so this process reads its own write
   * without waiting for the notification.
   */
  forget(ids: readonly string[]): void {
    this.seq++;
    for (const id of ids) {
      this.remember(this.forgottenAt, id);
      for (const key of [...(this.keysOf.get(id) ?? [])]) if (this.drop(key)) this.metrics?.tokenCacheInvalidations.inc({ cause: "local" });
    }
  }

  // --- ConnectionObserver ------------------------------------------------------------------

  notified(id: string, version: number | null = null): void {
    this.seq++;
    this.remember(this.notifiedAt, id);
    const seen = this.notifiedVersion.get(id);
    // The highest version notified; null (a removal, a re-encryption) sticks until the memory is reset.
    this.notifiedVersion.set(id, version === null || seen === null ? null : Math.max(version, seen ?? -1));
    for (const key of [...(this.keysOf.get(id) ?? [])]) {
      const entry = this.entries.get(key);
      // The entry already shows that write of its grant (a refresh of this process, cached from
      // what its write returned, before the write's own notification arrived): it stays. Older fills are refused above.
      if (version !== null && entry?.grantId === id && entry.version >= version) continue;
      if (this.drop(key)) this.metrics?.tokenCacheInvalidations.inc({ cause: "notify" });
    }
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
    const notified = this.notifiedVersion.get(fill.grantId);
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
    this.keysOf.clear();
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
