/**
 * Server-side sign-in sessions on a TokenStore. The cookie holds only a sealed reference
 * (session-cookie.ts): a random session id and the current refresh token. The store holds one
 * entry per session, `session:<id>`, keyed by the keyed hash (blind index) of that name and
 * sealed by the vault, like every store value: the user id, created, last seen, user agent, when
 * the access token was last renewed (`acc`), and the refresh state: the hash of the current
 * refresh token, of the previous one and when it rotated. 7 days from the last rotation. One
 * entry, so resolving a session is one store read, and every change of it one atomic write.
 *
 * - Signing out revokes the entry: the store keeps the revocation until it would have expired,
 *   and never returns a revoked entry, so an ended session cannot come back.
 * - The access token (15 minutes) is renewed silently (`acc`, re-stored) while requests keep
 *   coming, so an active user never notices it. Once it has lapsed, the next request that can
 *   set a cookie rotates the refresh token. A refresh token that is not the current one ends the
 *   whole session (a replayed old cookie), except the previous one for `graceMs` after a
 *   rotation: requests already in flight with it. Renewals and rotations take the session's lock
 *   and re-read the entry, so a renewal never writes back an older refresh state.
 * - `cache` (optional, session-read-cache.ts): validated entries served from process memory,
 *   dropped on the store's change notifications. Only the plain "active, nothing to write" answer
 *   is given from it; anything else (a refresh token that is not the cached current one, a renewal
 *   or rotation due) is decided on a fresh store read.
 *
 * Invariants: nothing the store holds names a session id, user id or token in clear; an expired
 * reference is refused at once; the session entry is the authority, so a write racing a sign-out
 * (refused by the store with CONFLICT) never revives it.
 */
import type { Clock, FallbackOptions, StoreLock, TokenMetadata, TokenStore } from "@tokenvault/store";
import { StorageError, systemClock } from "@tokenvault/store";
import { randomToken, sha256 } from "@tokenvault/vault";
import type { SessionCookieSealer } from "./session-cookie";

/** What ServerSessions needs of a read cache (StoreReadCache in @tokenvault/store is one). */
export interface SessionReadCache {
  /** The live entry: from process memory when it may be served, else read from the store (and remembered). */
  get(token: string): Promise<TokenMetadata | null>;
  /** This process wrote the entry: drop it at once, and refuse reads that started before. */
  forget(token: string): void;
}

export interface ServerSessionsOptions {
  store: TokenStore;
  /** Serialises renewals and rotations of one session across processes (every built-in store is one). */
  lock?: StoreLock;
  sealer: SessionCookieSealer;
  /** Validated sessions in process memory (see the header). Default none: every request reads the store. */
  cache?: SessionReadCache;
  clock?: Clock;
  accessTtlMs?: number;
  refreshTtlMs?: number;
  /** How long the previous refresh token is still accepted after a rotation (requests in flight). Default 10 s. */
  graceMs?: number;
}

export interface SessionInfo {
  /** Public handle of the session (not its id): what the sessions page ends it by. */
  handle: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  userAgent: string | null;
}

/** What a request's cookie resolves to. `cookie` is a new value the response must set (a rotation). */
export type Resolution =
  | { kind: "active"; session: SessionInfo; cookie?: IssuedCookie }
  | { kind: "refresh-needed" }
  | { kind: "none"; reason: "invalid" | "ended" }
  /** A replayed refresh token ended the session: whose it was, for the audit log. */
  | { kind: "none"; reason: "reuse"; userId: string };

export interface IssuedCookie {
  value: string;
  expiresAt: Date;
}

/** The sealed claims of a session's entry: the session, its access renewal and its refresh state. */
interface SessionClaims {
  sid: string;
  uid: string;
  created: number;
  seen: number;
  ua: string | null;
  /** When the access token was last renewed (epoch ms): it lives accessTtlMs from here. */
  acc: number;
  /** sha256 of the current refresh token, of the previous one, and when it rotated (epoch ms). */
  cur: string;
  prev: string | null;
  at: number;
}

const MINUTE = 60_000;
const REFRESH_TTL_MS = 7 * 24 * 60 * MINUTE;

/**
 * The store fallback's settings for sessions (Redis, Upstash): a session validated here is vouched
 * for `windowMs` into an outage; a session known here to be ended (ended here, or found ended or
 * absent in the store) is refused with 401 for as long as any cookie of it could be valid, never
 * 503; one signed in here during the outage works here until the store has it.
 */
export function sessionFallbackOptions(windowMs: number): Pick<FallbackOptions, "windowMs" | "removedWindowMs" | "maxEntries"> {
  return { windowMs, removedWindowMs: REFRESH_TTL_MS, maxEntries: 10_000 };
}

const USER_SUBJECT = (userId: string) => `user:${userId}`;
const SESSION_KEY = (sessionId: string) => `session:${sessionId}`;

export class ServerSessions {
  private readonly store: TokenStore;
  private readonly lock: StoreLock | undefined;
  private readonly sealer: SessionCookieSealer;
  private readonly cache: SessionReadCache | undefined;
  private readonly clock: Clock;
  readonly accessTtlMs: number;
  readonly refreshTtlMs: number;
  private readonly graceMs: number;

  constructor(options: ServerSessionsOptions) {
    this.store = options.store;
    this.lock = options.lock;
    this.sealer = options.sealer;
    this.cache = options.cache;
    this.clock = options.clock ?? systemClock;
    this.accessTtlMs = options.accessTtlMs ?? 15 * MINUTE;
    this.refreshTtlMs = options.refreshTtlMs ?? REFRESH_TTL_MS;
    this.graceMs = options.graceMs ?? 10_000;
  }

  /** Starts a session for a user who just proved who they are; returns the cookie to set. */
  async start(userId: string, userAgent: string | null): Promise<{ cookie: IssuedCookie; session: SessionInfo }> {
    const now = this.clock.now().getTime();
    const sessionId = randomToken(32);
    const refreshToken = randomToken(32);
    const handle = randomToken(12);
    const claims: SessionClaims = { sid: sessionId, uid: userId, created: now, seen: now, ua: userAgent?.slice(0, 256) ?? null, acc: now, cur: sha256(refreshToken), prev: null, at: now };
    await this.write(handle, claims, now + this.refreshTtlMs);
    return { cookie: this.issue(sessionId, refreshToken, now), session: toInfo(handle, claims) };
  }

  /**
   * Resolves a cookie value. `rotate` says whether the caller can set a cookie on its response:
   * when it cannot (a page render) and the access token has lapsed, the answer is refresh-needed.
   */
  async resolve(value: string, { rotate }: { rotate: boolean }): Promise<Resolution> {
    const now = this.clock.now().getTime();
    const reference = this.sealer.open(value, now);
    if (!reference) return { kind: "none", reason: "invalid" };
    const key = SESSION_KEY(reference.sessionId);
    const presented = sha256(reference.refreshToken);
    if (this.cache) {
      // Known ended (null) is the answer even during a store outage (the fallback's): 401, not 503.
      const cached = await this.cache.get(key);
      if (!cached) return { kind: "none", reason: "ended" };
      const claims = claimsOf(cached);
      if (claims?.cur === presented && now - claims.acc < this.accessTtlMs / 3) return { kind: "active", session: toInfo(cached.id, claims) };
    }
    const session = await this.store.get(key);
    const claims = session && claimsOf(session);
    // No entry, or one written before sessions were one entry: sign in again.
    if (!session || !claims) return { kind: "none", reason: "ended" };
    if (presented !== claims.cur) {
      // In flight when another request rotated it: accepted, nothing rotated again.
      if (presented === claims.prev && now - claims.at <= this.graceMs) return { kind: "active", session: toInfo(session.id, claims) };
      await this.endSession(reference.sessionId);
      return { kind: "none", reason: "reuse", userId: claims.uid };
    }
    if (now - claims.acc < this.accessTtlMs / 3) return { kind: "active", session: toInfo(session.id, claims) };
    const lapsed = now - claims.acc >= this.accessTtlMs;
    if (lapsed && !rotate) return { kind: "refresh-needed" };
    return this.renew(reference.sessionId, session.id, claims, presented, now, lapsed);
  }

  /** Ends the session a cookie refers to (sign-out); returns what it was, or null when unknown (or unknown here during an outage). */
  async end(value: string): Promise<SessionInfo | null> {
    // An expired reference still names a session that may hold state: end it all the same.
    const reference = this.sealer.open(value, Number.NEGATIVE_INFINITY);
    if (!reference) return null;
    // During a store outage the handle may be unknown here; the session is ended all the same.
    const session = await this.store.get(SESSION_KEY(reference.sessionId)).catch(() => null);
    await this.endSession(reference.sessionId);
    const claims = session && claimsOf(session);
    return session && claims ? toInfo(session.id, claims) : null;
  }

  /** The user's live sessions, most recently seen first. */
  async list(userId: string): Promise<SessionInfo[]> {
    const entries = await this.store.list(USER_SUBJECT(userId));
    return entries.flatMap((entry) => infoOf(entry)).sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
  }

  /** Ends one of the user's sessions by handle; false when the user has no such live session. */
  async endByHandle(userId: string, handle: string): Promise<boolean> {
    const entry = await this.store.getById(handle);
    if (!entry || entry.subject !== USER_SUBJECT(userId)) return false;
    await this.endSession((entry.claims as unknown as SessionClaims).sid);
    return true;
  }

  /** Ends every live session of the user; returns the handles ended. */
  async endAll(userId: string): Promise<string[]> {
    const entries = await this.store.list(USER_SUBJECT(userId));
    for (const entry of entries) await this.endSession((entry.claims as unknown as SessionClaims).sid);
    return entries.map((entry) => entry.id);
  }

  private async endSession(sessionId: string): Promise<void> {
    const key = SESSION_KEY(sessionId);
    try {
      // From here on the session resolves to nothing, in every process (the store notifies the others' caches).
      await this.store.revoke(key);
    } finally {
      this.cache?.forget(key);
    }
  }

  /**
   * Renews the access token (and last seen) once a third of its life has gone: one write per few
   * minutes, not per request; once it has lapsed (`lapsed`), also rotates the refresh token. Under
   * the session's lock, on a re-read, so two requests never both rotate and a renewal never
   * writes back a refresh state older than the one stored.
   */
  private async renew(sessionId: string, handle: string, claims: SessionClaims, presented: string, now: number, lapsed: boolean): Promise<Resolution> {
    const lockName = `session-rotate:${sha256(handle)}`;
    const owner = this.lock ? await this.lock.acquire(lockName, 5_000).catch(() => undefined) : undefined;
    // Another request is renewing or rotating this session right now: it writes (and sets the new cookie).
    if (owner === null) return { kind: "active", session: toInfo(handle, claims) };
    try {
      const session = await this.store.get(SESSION_KEY(sessionId));
      const state = session && claimsOf(session);
      if (!session || !state) return { kind: "none", reason: "ended" };
      if (state.cur !== presented) {
        if (state.prev === presented && now - state.at <= this.graceMs) return { kind: "active", session: toInfo(handle, state) };
        await this.endSession(sessionId);
        return { kind: "none", reason: "reuse", userId: state.uid };
      }
      if (!lapsed) {
        const seen = { ...state, seen: now, acc: now };
        await this.write(handle, seen, session.expiresAt.getTime());
        return { kind: "active", session: toInfo(handle, seen) };
      }
      const refreshToken = randomToken(32);
      const rotated = { ...state, seen: now, acc: now, cur: sha256(refreshToken), prev: presented, at: now };
      await this.write(handle, rotated, now + this.refreshTtlMs);
      return { kind: "active", session: toInfo(handle, rotated), cookie: this.issue(sessionId, refreshToken, now) };
    } catch (error) {
      if (isConflict(error)) return { kind: "none", reason: "ended" };
      throw error;
    } finally {
      if (owner) await this.lock?.release(lockName, owner).catch(() => undefined);
    }
  }

  private issue(sessionId: string, refreshToken: string, now: number): IssuedCookie {
    const expiresAtMs = now + this.refreshTtlMs;
    return { value: this.sealer.seal({ sessionId, refreshToken, expiresAtMs }), expiresAt: new Date(expiresAtMs) };
  }

  private async write(handle: string, claims: SessionClaims, expiresAtMs: number): Promise<void> {
    const key = SESSION_KEY(claims.sid);
    const c = claims as unknown as { [key: string]: string | number | null };
    try {
      await this.store.store(key, { id: handle, subject: USER_SUBJECT(claims.uid), issuedAt: new Date(claims.created), expiresAt: new Date(expiresAtMs), claims: c });
    } finally {
      this.cache?.forget(key);
    }
  }
}

/** The entry's claims, or null for an entry written before sessions were one entry (no refresh state). */
function claimsOf(entry: TokenMetadata): SessionClaims | null {
  const claims = entry.claims as unknown as Partial<SessionClaims> | undefined;
  return claims && typeof claims.cur === "string" && typeof claims.acc === "number" ? (claims as SessionClaims) : null;
}

function infoOf(entry: TokenMetadata): SessionInfo[] {
  const claims = claimsOf(entry);
  return claims ? [toInfo(entry.id, claims)] : [];
}

function toInfo(handle: string, claims: SessionClaims): SessionInfo {
  return { handle, userId: claims.uid, createdAt: new Date(claims.created), lastSeenAt: new Date(claims.seen), userAgent: claims.ua };
}

const isConflict = (error: unknown) => error instanceof StorageError && error.code === "CONFLICT";
