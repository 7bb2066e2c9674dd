import { getIronSession, unsealData, type SessionOptions } from "iron-session";
import { cookies } from "next/headers";
import { webEnv } from "~/env";
import type { Caller, SessionResolver } from "./caller";
import { LOCAL_USERS } from "./local-users";

interface SessionData {
  userId?: string;
}

/**
 * Over HTTPS the cookie carries the __Host- prefix: browsers then accept it only Secure, for
 * path /, with no Domain, so a sibling subdomain cannot plant a second session cookie.
 */
export function sessionCookieName(): string {
  return webEnv().cookieSecure ? "__Host-tokenvault_session" : "tokenvault_session";
}

function options(): SessionOptions {
  const env = webEnv();
  return {
    cookieName: sessionCookieName(),
    password: env.sessionSecret,
    ttl: 8 * 3600,
    cookieOptions: { httpOnly: true, sameSite: "lax", secure: env.cookieSecure, path: "/" },
  };
}

/** The session of the current request, for signing in and out (reading the caller goes through the SessionResolver). */
async function currentSession() {
  return getIronSession<SessionData>(await cookies(), options());
}

/** Resolves a session's user id to a caller; users are the seeded local ones. */
function callerFor(userId: string | undefined): Caller | null {
  if (!userId || !webEnv().demoUsers) return null;
  return LOCAL_USERS.find((u) => u.userId === userId) ?? null;
}

function readCookie(headers: Headers, name: string): string | undefined {
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

/**
 * The default SessionResolver: Tokenvault's sealed, httpOnly, SameSite cookie, read from the
 * request's own headers, so it works for any Request (route handlers, tests, a host's server).
 */
export const cookieSessionResolver: SessionResolver = async ({ headers }) => {
  const seal = readCookie(headers, sessionCookieName());
  if (!seal) return null;
  const { password, ttl } = options();
  // Expired, tampered or sealed with another secret: an empty object, i.e. signed out.
  const data = await unsealData<SessionData>(seal, { password, ttl });
  return callerFor(typeof data.userId === "string" ? data.userId : undefined);
};

export async function signIn(caller: Caller): Promise<void> {
  const session = await currentSession();
  session.userId = caller.userId;
  await session.save();
}

export async function signOut(): Promise<void> {
  (await currentSession()).destroy();
}
