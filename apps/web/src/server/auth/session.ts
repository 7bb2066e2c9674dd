import { getIronSession, type SessionOptions } from "iron-session";
import { cookies } from "next/headers";
import { webEnv } from "~/env";
import type { Caller, SessionResolver } from "./caller";
import { LOCAL_USERS } from "./local-users";

interface SessionData {
  userId?: string;
}

export const SESSION_COOKIE = "tokenvault_session";

function options(): SessionOptions {
  const env = webEnv();
  return {
    cookieName: SESSION_COOKIE,
    password: env.sessionSecret,
    ttl: 8 * 3600,
    cookieOptions: { httpOnly: true, sameSite: "lax", secure: env.cookieSecure, path: "/" },
  };
}

/** The session of the current request (server components, actions, route handlers). */
export async function currentSession() {
  return getIronSession<SessionData>(await cookies(), options());
}

/** Resolves a session's user id to a caller; users are the seeded local ones. */
function callerFor(userId: string | undefined): Caller | null {
  if (!userId || !webEnv().demoUsers) return null;
  return LOCAL_USERS.find((u) => u.userId === userId) ?? null;
}

export async function currentCaller(): Promise<Caller | null> {
  return callerFor((await currentSession()).userId);
}

/** The default SessionResolver: Tokenvault's sealed, httpOnly, SameSite cookie. */
export const cookieSessionResolver: SessionResolver = async () => currentCaller();

export async function signIn(caller: Caller): Promise<void> {
  const session = await currentSession();
  session.userId = caller.userId;
  await session.save();
}

export async function signOut(): Promise<void> {
  (await currentSession()).destroy();
}
