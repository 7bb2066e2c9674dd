// The memory of withFallback (see fallback.ts): what this process wrote or read, for a window, and
// which tokens it knows to be revoked or deleted. Keyed by token id and by the token's blind index,
// never by the token itself.
import type { Clock } from "./clock";
import type { TokenMetadata } from "./types";

export interface CachedToken {
  metadata: TokenMetadata;
  /** The token's blind index, when this process saw the token itself (not only its id, as getById and list give). */
  tokenKey: string | null;
  /** Served until then: the window counts from the last time the primary (or this process, writing) confirmed it. */
  knownUntil: number;
}

/** How a cached entry may be used during an outage. */
export type Standing = "live" | "expired" | "stale";

export class FallbackCache {
  private readonly entries = new Map<string, CachedToken>(); // by token id, least recently confirmed first
  private readonly idByToken = new Map<string, string>();
  private readonly removed = new Map<string, { revoked: boolean; until: number }>(); // by token key

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
    private readonly maxEntries: number,
    /** How long a token known to be gone (revoked, deleted, answered absent) is remembered as such. */
    private readonly removedWindowMs: number = windowMs,
  ) {}

  /** Remembers a live token; with its key, the token is no longer known as removed (it was stored, or read live). */
  remember(metadata: TokenMetadata, tokenKey: string | null): void {
    if (metadata.revokedAt) return;
    const previous = this.entries.get(metadata.id);
    if (tokenKey) {
      this.removed.delete(tokenKey);
      const oldId = this.idByToken.get(tokenKey);
      if (oldId !== undefined && oldId !== metadata.id) this.forgetId(oldId);
      this.idByToken.set(tokenKey, metadata.id);
    }
    this.entries.delete(metadata.id);
    this.entries.set(metadata.id, { metadata: structuredClone(metadata), tokenKey: tokenKey ?? previous?.tokenKey ?? null, knownUntil: this.now() + this.windowMs });
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.forgetId(id);
    }
  }

  /** Forgets a token; `unlinked` also forgets every entry read without its token (it might be this one). */
  forgetToken(key: string, unlinked = false): void {
    const id = this.idByToken.get(key);
    if (id !== undefined) this.forgetId(id);
    else if (unlinked) for (const [cachedId, entry] of this.entries) if (entry.tokenKey === null) this.entries.delete(cachedId);
  }

  forgetId(id: string): void {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    if (entry?.tokenKey && this.idByToken.get(entry.tokenKey) === id) this.idByToken.delete(entry.tokenKey);
  }

  /** Remembers a token revoked or deleted (and forgets its entry); a delete does not erase a revocation, as on every backend. */
  markRemoved(key: string, revoked: boolean, expiresAt?: Date): void {
    this.forgetToken(key, true);
    const now = this.now();
    const previous = this.removed.get(key);
    if (!revoked && previous?.revoked && previous.until > now) return;
    this.removed.delete(key);
    this.removed.set(key, { revoked, until: Math.max(expiresAt?.getTime() ?? 0, now + this.removedWindowMs) });
    this.trimRemoved();
  }

  /** The primary answered that the token is not there (absent, expired or revoked): known gone, like a delete. */
  markAbsent(key: string): void {
    this.forgetToken(key);
    if (this.isRemoved(key)) return; // a revocation known here says more
    this.removed.set(key, { revoked: false, until: this.now() + this.removedWindowMs });
    this.trimRemoved();
  }

  private trimRemoved(): void {
    for (const oldest of this.removed.keys()) {
      if (this.removed.size <= this.maxEntries) break;
      this.removed.delete(oldest); // a revocation still queued for the primary is known from the queue
    }
  }

  /** The primary says the token is not revoked (it may have expired since). */
  unmarkRevoked(key: string): void {
    if (this.removed.get(key)?.revoked) this.removed.delete(key);
  }

  isRemoved(key: string): boolean {
    return (this.removed.get(key)?.until ?? 0) > this.now();
  }

  isRevoked(key: string): boolean {
    const removed = this.removed.get(key);
    return !!removed?.revoked && removed.until > this.now();
  }

  byToken(key: string): CachedToken | undefined {
    const id = this.idByToken.get(key);
    const entry = id === undefined ? undefined : this.entries.get(id);
    return entry?.tokenKey === key ? entry : undefined;
  }

  byId(id: string): CachedToken | undefined {
    return this.entries.get(id);
  }

  ofSubject(subject: string): CachedToken[] {
    return [...this.entries.values()].filter((entry) => entry.metadata.subject === subject);
  }

  standing(entry: CachedToken): Standing {
    const now = this.now();
    if (entry.metadata.expiresAt.getTime() <= now) return "expired";
    return entry.knownUntil > now && !(entry.tokenKey && this.isRevoked(entry.tokenKey)) ? "live" : "stale";
  }

  /** Drops what can no longer be served. */
  sweep(): void {
    for (const [id, entry] of this.entries) if (this.standing(entry) !== "live") this.forgetId(id);
    for (const [key, removed] of this.removed) if (removed.until <= this.now()) this.removed.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.idByToken.clear();
    this.removed.clear();
  }

  private now(): number {
    return this.clock.now().getTime();
  }
}
