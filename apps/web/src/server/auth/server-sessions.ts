/**
 * Server-side sign-in sessions on a TokenStore. The cookie holds only a sealed reference
 * (session-cookie.ts): a random session id and the current refresh token. The store holds, per
 * session, three entries, each keyed by the keyed hash (blind index) of a name built from the
 * session id and sealed by the vault, like every store value:
 *
 * - `session:<id>`: the user id, created, last seen, user agent; 7 days from the last rotation.
 *   Signing out revokes it: the store keeps the revocation (the logged-out flag) until it would
 *   have expired, and never returns a revoked entry, so an ended session cannot come back.
 * - `access:<id>`: the access token, 15 minutes; renewed silently (re-stored) while requests
 *   keep coming, so an active user never notices it.
 * - `refresh:<id>`: the hash of the current refresh token (and of the previous one), 7 days.
 *   Once the access token has lapsed, the next request that can set a cookie rotates it. A
 *   refresh token that is not the current one ends the whole session (a replayed old cookie),
 *   except the previous one for `graceMs` after a rotation: requests already in flight with it.
 *
 * Invariants: nothing the store holds names a session id, user id or token in clear; an expired
 * reference is refused at once; a session entry is the authority, so a write racing a sign-out
 * (refused by the store with CONFLICT) never revives it.
 */
import type { Clock, FallbackOptions, StoreLock, TokenMetadata, TokenStore } from "@tokenvault/store";
import { StorageError, systemClock } from "@tokenvault/store";
import { randomToken, sha256 } from "@tokenvault/vault";
import type { SessionCookieSealer } from "./session-cookie";

export interface ServerSessionsOptions {
  store: TokenStore;
  /** Serialises rotations of one session across processes (every built-in store is one). */
  lock?: StoreLock;
  sealer: SessionCookieSealer;
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

interface SessionClaims {
  sid: string;
  uid: string;
  created: number;
  seen: number;
  ua: string | null;
}

interface RefreshClaims {
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

export class ServerSessions {
  private readonly store: TokenStore;
  private readonly lock: StoreLock | undefined;
  private readonly sealer: SessionCookieSealer;
  private readonly clock: Clock;
  readonly accessTtlMs: number;
  readonly refreshTtlMs: number;
  private readonly graceMs: number;

  constructor(options: ServerSessionsOptions) {
    this.store = options.store;
    this.lock = options.lock;
    this.sealer = options.sealer;
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
    const claims: SessionClaims = { sid: sessionId, uid: userId, created: now, seen: now, ua: userAgent?.slice(0, 256) ?? null };
    await this.writeRefresh(sessionId, handle, { cur: sha256(refreshToken), prev: null, at: now }, now);
    await this.writeAccess(sessionId, handle, now);
    await this.writeSession(sessionId, handle, claims, now + this.refreshTtlMs);
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
    const { sessionId, refreshToken } = reference;
    const reads = await Promise.allSettled([this.store.get(`session:${sessionId}`), this.store.get(`access:${sessionId}`), this.store.get(`refresh:${sessionId}`)]);
    // Known ended (null) is the answer even when another entry cannot be read (a store outage): 401, not 503.
    if (reads.some((read, at) => at !== 1 && read.status === "fulfilled" && read.value === null)) return { kind: "none", reason: "ended" };
    const failed = reads.find((read) => read.status === "rejected");
    if (failed) throw failed.reason;
    const [session, access, refresh] = reads.map((read) => (read as PromiseFulfilledResult<TokenMetadata | null>).value);
    if (!session || !refresh) return { kind: "none", reason: "ended" };
    const handle = session.id;
    const claims = session.claims as unknown as SessionClaims;
    const state = refresh.claims as unknown as RefreshClaims;
    const presented = sha256(refreshToken);
    if (presented !== state.cur) {
      // In flight when another request rotated it: accepted, nothing rotated again.
      if (presented === state.prev && now - state.at <= this.graceMs) return { kind: "active", session: toInfo(handle, claims) };
      await this.endSession(sessionId);
      return { kind: "none", reason: "reuse", userId: claims.uid };
    }
    if (access) return this.keepAlive(sessionId, session, access, claims, now);
    if (!rotate) return { kind: "refresh-needed" };
    return this.rotate(sessionId, handle, claims, presented, now);
  }

  /** Ends the session a cookie refers to (sign-out); returns what it was, or null when unknown (or unknown here during an outage). */
  async end(value: string): Promise<SessionInfo | null> {
    // An expired reference still names a session that may hold state: end it all the same.
    const reference = this.sealer.open(value, Number.NEGATIVE_INFINITY);
    if (!reference) return null;
    // During a store outage the handle may be unknown here; the session is ended all the same.
    const session = await this.store.get(`session:${reference.sessionId}`).catch(() => null);
    await this.endSession(reference.sessionId);
    return session ? toInfo(session.id, session.claims as unknown as SessionClaims) : null;
  }

  /** The user's live sessions, most recently seen first. */
  async list(userId: string): Promise<SessionInfo[]> {
    const entries = await this.store.list(USER_SUBJECT(userId));
    return entries.map((entry) => toInfo(entry.id, entry.claims as unknown as SessionClaims)).sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
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
    // The revocation first: from here on the session resolves to nothing, whatever follows.
    await this.store.revoke(`session:${sessionId}`);
    await Promise.all([this.store.delete(`access:${sessionId}`), this.store.delete(`refresh:${sessionId}`)]);
  }

  /** Renews the access token (and last seen) once a third of its life has gone: one write per few minutes, not per request. */
  private async keepAlive(sessionId: string, session: TokenMetadata, access: TokenMetadata, claims: SessionClaims, now: number): Promise<Resolution> {
    const handle = session.id;
    if (now - access.issuedAt.getTime() < this.accessTtlMs / 3) return { kind: "active", session: toInfo(handle, claims) };
    const seen = { ...claims, seen: now };
    try {
      await this.writeSession(sessionId, handle, seen, session.expiresAt.getTime());
      await this.writeAccess(sessionId, handle, now);
    } catch (error) {
      if (isConflict(error)) return { kind: "none", reason: "ended" };
      throw error;
    }
    return { kind: "active", session: toInfo(handle, seen) };
  }

  /** A new refresh token and access token, under the session's lock so two requests never both rotate. */
  private async rotate(sessionId: string, handle: string, claims: SessionClaims, presented: string, now: number): Promise<Resolution> {
    const lockName = `session-rotate:${sha256(handle)}`;
    const owner = this.lock ? await this.lock.acquire(lockName, 5_000).catch(() => undefined) : undefined;
    // Another request is rotating this session right now: it sets the new cookie.
    if (owner === null) return { kind: "active", session: toInfo(handle, claims) };
    try {
      const refresh = await this.store.get(`refresh:${sessionId}`);
      const state = refresh?.claims as unknown as RefreshClaims | undefined;
      if (!state) return { kind: "none", reason: "ended" };
      if (state.cur !== presented) {
        if (state.prev === presented && now - state.at <= this.graceMs) return { kind: "active", session: toInfo(handle, claims) };
        await this.endSession(sessionId);
        return { kind: "none", reason: "reuse", userId: claims.uid };
      }
      const refreshToken = randomToken(32);
      const seen = { ...claims, seen: now };
      await this.writeSession(sessionId, handle, seen, now + this.refreshTtlMs);
      await this.writeRefresh(sessionId, handle, { cur: sha256(refreshToken), prev: presented, at: now }, now);
      await this.writeAccess(sessionId, handle, now);
      return { kind: "active", session: toInfo(handle, seen), cookie: this.issue(sessionId, refreshToken, now) };
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

  private writeSession(sessionId: string, handle: string, claims: SessionClaims, expiresAtMs: number): Promise<void> {
    const c = claims as unknown as { [key: string]: string | number | null };
    return this.store.store(`session:${sessionId}`, { id: handle, subject: USER_SUBJECT(claims.uid), issuedAt: new Date(claims.created), expiresAt: new Date(expiresAtMs), claims: c });
  }

  private writeAccess(sessionId: string, handle: string, now: number): Promise<void> {
    return this.store.store(`access:${sessionId}`, { id: `access:${handle}`, subject: `access:${handle}`, issuedAt: new Date(now), expiresAt: new Date(now + this.accessTtlMs) });
  }

  private writeRefresh(sessionId: string, handle: string, state: RefreshClaims, now: number): Promise<void> {
    const c = state as unknown as { [key: string]: string | number | null };
    return this.store.store(`refresh:${sessionId}`, { id: `refresh:${handle}`, subject: `refresh:${handle}`, issuedAt: new Date(now), expiresAt: new Date(now + this.refreshTtlMs), claims: c });
  }
}

function toInfo(handle: string, claims: SessionClaims): SessionInfo {
  return { handle, userId: claims.uid, createdAt: new Date(claims.created), lastSeenAt: new Date(claims.seen), userAgent: claims.ua };
}

const isConflict = (error: unknown) => error instanceof StorageError && error.code === "CONFLICT";
