"use server";

import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { serverSessions, sessionCookieName } from "~/server/auth/session";
import { webEnv } from "~/env";

/** Ends the session server-side (a copy of the cookie is worthless from here on), then clears the cookie. */
export async function signOutAction(): Promise<void> {
  const jar = await cookies();
  const name = sessionCookieName();
  const value = jar.get(name)?.value;
  if (value) await serverSessions().end(value);
  jar.set(name, "", { httpOnly: true, sameSite: "lax", secure: webEnv().cookieSecure, path: "/", maxAge: 0 });
  redirect("/sign-in");
}
