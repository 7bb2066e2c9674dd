"use server";

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { getTokenService } from "@tokenvault/token";
import { clientAddress } from "~/server/api/client-address";
import { callerFor, serverSessions, sessionCookieName } from "~/server/auth/session";
import { webEnv } from "~/env";

/** Ends the session server-side (a copy of the cookie is worthless from here on), audits it, then clears the cookie. */
export async function signOutAction(): Promise<void> {
  const jar = await cookies();
  const env = webEnv();
  const name = sessionCookieName();
  const value = jar.get(name)?.value;
  const ended = value ? await serverSessions().end(value) : null;
  const caller = ended ? callerFor(ended.userId) : null;
  if (caller) {
    const request = await headers();
    const context = { userId: caller.userId, ipAddress: clientAddress(request, env.trustedProxies), userAgent: request.get("user-agent") };
    await (await getTokenService()).recordSessionsEnded(caller.companyId, context, { scope: "sign-out", targetUserId: caller.userId, sessions: 1, endpoint: "/sign-out" });
  }
  jar.set(name, "", { httpOnly: true, sameSite: "lax", secure: env.cookieSecure, path: "/", maxAge: 0 });
  redirect("/sign-in");
}
