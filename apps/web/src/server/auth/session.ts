import { dbEnv } from "@tokenvault/db";
import {
  LazyTokenStore,
  StoreMetrics,
  StoreReadCache,
  createTokenStoreFromEnv,
  postgresChanges,
  redisChanges,
  storeSettingsFromEnv,
  withFallback,
  withStoreMetrics,
  type ChangeFeed,
  type TokenStore,
} from "@tokenvault/store";
import { Counter } from "prom-client";
import { defaultTokenMetrics, getTokenService } from "@tokenvault/token";
import { webEnv } from "~/env";
import { clientAddress } from "../api/client-address";
import type { Caller, SessionResolver } from "./caller";
import { LOCAL_USERS } from "./local-users";
import { SessionCookieSealer } from "./session-cookie";
import { ServerSessions, sessionFallbackOptions, type IssuedCookie } from "./server-sessions";

/**
 * Over HTTPS the cookie carries the __Host- prefix: browsers then accept it only Secure, for
 * path /, with no Domain, so a sibling subdomain cannot plant a second session cookie.
 */
export function sessionCookieName(): string {
  return webEnv().cookieSecure ? "__Host-tokenvault_session" : "tokenvault_session";
}

/** Sessions live beside the token store's other entries, apart from them: their own namespace and key prefix. */
const SESSION_STORE = { namespace: "auth", prefix: "auth" } as const;

/**
 * One per process, kept on globalThis: Next loads this module once for pages (and the proxy) and
 * once for route handlers, and two copies would keep two fallback caches with two answers.
 */
const PROCESS_SESSIONS = Symbol.for("tokenvault.serverSessions");
const processGlobal = globalThis as { [PROCESS_SESSIONS]?: ServerSessions };

/**
 * The process's sessions, built on first use: on the store TOKEN_STORE names (the app's own
 * database by default; Redis or Upstash when configured). On Redis or Upstash an in-process
 * fallback keeps recently validated sessions working through a brief outage (docs/sessions.md).
 */
export function serverSessions(): ServerSessions {
  const existing = processGlobal[PROCESS_SESSIONS];
  if (existing) return existing;
  const env = webEnv();
  const primary = new LazyTokenStore(() => createTokenStoreFromEnv(SESSION_STORE));
  const { backend } = storeSettingsFromEnv();
  // Counted on the process's metrics (/api/metrics): the backend's own operations, under the fallback.
  const measured = withStoreMetrics(primary, StoreMetrics.on(defaultTokenMetrics().registry), backend);
  const remote = backend === "redis" || backend === "upstash";
  const store: TokenStore = remote ? withFallback(measured, { namespace: SESSION_STORE.namespace, ...sessionFallbackOptions(env.sessionCacheMs) }) : measured;
  const sessions = new ServerSessions({ store, lock: primary, sealer: new SessionCookieSealer(env.sessionSecret), cache: sessionReadCache(store) });
  processGlobal[PROCESS_SESSIONS] = sessions;
  return sessions;
}

/**
 * Validated sessions in process memory, where something tells this process of the others' writes
 * (docs/sessions.md): PostgreSQL by LISTEN (a trigger NOTIFYs each write), a single Redis by
 * SUBSCRIBE (the store's scripts PUBLISH each write). The memory store lives in this process: its
 * own writes keep the cache exact. Upstash, Vercel KV (HTTP, no subscribe), a Redis Cluster and
 * the embedded database (no LISTEN, as for the token cache): no cache, every request reads the store.
 */
function sessionReadCache(store: TokenStore): StoreReadCache | undefined {
  const settings = storeSettingsFromEnv();
  const { databaseUrl } = dbEnv();
  let changes: ChangeFeed | null;
  if (settings.backend === "memory") changes = null;
  else if (settings.backend === "redis" && "url" in settings) changes = redisChanges(settings.url, SESSION_STORE.prefix);
  else if (settings.backend === "postgres" && databaseUrl) changes = postgresChanges(databaseUrl, SESSION_STORE.namespace);
  else return undefined;
  // Until the feed is up the cache is bypassed: requests read the store, as without a cache.
  void changes?.start();
  const cache = new StoreReadCache(store, { namespace: SESSION_STORE.namespace, changes });
  countSessionCacheReads(cache);
  return cache;
}

/**
 * `tokenvault_session_cache_reads_total{outcome}` on /api/metrics: hit, miss, down (feed not up);
 * `tokenvault_session_cache_poll_waits_total`: reads that first waited for the event loop to read its sockets.
 */
function countSessionCacheReads(cache: StoreReadCache): void {
  const registry = defaultTokenMetrics().registry;
  const name = "tokenvault_session_cache_reads_total";
  const waitsName = "tokenvault_session_cache_poll_waits_total";
  for (const old of [name, waitsName]) if (registry.getSingleMetric(old)) registry.removeSingleMetric(old);
  const reported = { hit: 0, miss: 0, down: 0 };
  new Counter({
    name,
    help: "Session reads by the process's session read cache: answered from memory (hit), read and cached (miss), or sent to the store past it (down: its change feed is not up).",
    labelNames: ["outcome"],
    registers: [registry],
    collect() {
      // The cache keeps plain counts; the counter catches up with them when scraped.
      const { hits, misses, down } = cache.counts;
      const now = { hit: hits, miss: misses, down };
      for (const outcome of Object.keys(now) as (keyof typeof now)[]) {
        this.inc({ outcome }, now[outcome] - reported[outcome]);
        reported[outcome] = now[outcome];
      }
    },
  });
  let waitsReported = 0;
  new Counter({
    name: waitsName,
    help: "Session reads that found the event loop behind on its sockets and waited for its next poll before asking the cache (each also counted in tokenvault_session_cache_reads_total).",
    registers: [registry],
    collect() {
      this.inc(cache.counts.waited - waitsReported);
      waitsReported = cache.counts.waited;
    },
  });
}

/** Thrown to a page render whose access token lapsed: only a response that can set the cookie may rotate it. */
export class SessionRefreshNeeded extends Error {
  constructor() {
    super("the session must be refreshed by a request that can set its cookie");
  }
}

/** A replayed refresh token ended a session (a copied cookie, most likely): a SESSION_END row, acted by "system". */
async function auditReuse(userId: string, headers: Headers): Promise<void> {
  const user = LOCAL_USERS.find((u) => u.userId === userId);
  if (!user) return;
  const context = { userId: "system", ipAddress: clientAddress(headers, webEnv().trustedProxies), userAgent: headers.get("user-agent") };
  await (await getTokenService()).recordSessionsEnded(user.companyId, context, { scope: "reuse", targetUserId: userId, sessions: 1, endpoint: "refresh-token-reuse" });
}

/** Resolves a user id to a caller; users are the seeded local ones. */
export function callerFor(userId: string, sessionHandle?: string): Caller | null {
  if (!webEnv().demoUsers) return null;
  const user = LOCAL_USERS.find((u) => u.userId === userId);
  return user ? { ...user, sessionHandle } : null;
}

export function readCookie(headers: Headers, name: string): string | undefined {
  for (const part of (headers.get("cookie") ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index < 0 || part.slice(0, index).trim() !== name) continue;
    const raw = part.slice(index + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** A Set-Cookie header value for the session cookie (null: clear it). */
export function sessionSetCookie(cookie: IssuedCookie | null): string {
  const secure = webEnv().cookieSecure ? "; Secure" : "";
  const expiry = cookie ? `; Expires=${cookie.expiresAt.toUTCString()}` : "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0";
  // The sealed value is base64url and dots: nothing to encode.
  return `${sessionCookieName()}=${cookie?.value ?? ""}; Path=/${expiry}; HttpOnly; SameSite=Lax${secure}`;
}

/**
 * The default SessionResolver: the server-side session the cookie refers to, read from the
 * request's own headers, so it works for any Request (route handlers, tests, a host's server).
 */
export const cookieSessionResolver: SessionResolver = async ({ headers, responseHeaders }) => {
  const value = readCookie(headers, sessionCookieName());
  if (!value) return null;
  // The store unreachable and the session not validated here recently: the StorageError goes up
  // and the request is refused with 503 (never guessed valid, and not a sign-out either: the
  // session is still there when the store returns). See the outage policy in docs/sessions.md.
  const result = await serverSessions().resolve(value, { rotate: responseHeaders !== undefined });
  if (result.kind === "refresh-needed") throw new SessionRefreshNeeded();
  if (result.kind === "none" && result.reason === "reuse") await auditReuse(result.userId, headers);
  if (result.kind !== "active") return null;
  if (result.cookie) responseHeaders?.append("set-cookie", sessionSetCookie(result.cookie));
  return callerFor(result.session.userId, result.session.handle);
};
