import type { NextRequest } from "next/server";
import { safeReturnPath } from "~/server/auth/return-path";
import { readCookie, serverSessions, sessionCookieName, sessionSetCookie } from "~/server/auth/session";

/**
 * A page whose session's access token lapsed sends the browser here: the refresh token is
 * rotated (a page render cannot set the cookie), then the browser goes back to the page. A
 * session that ended, or a replayed refresh token, goes to sign-in with the cookie cleared.
 */
export async function GET(request: NextRequest) {
  const value = readCookie(request.headers, sessionCookieName());
  const result = value ? await serverSessions().resolve(value, { rotate: true }) : null;
  const headers = new Headers({ "cache-control": "no-store" });
  if (result?.kind === "active") {
    headers.set("location", safeReturnPath(request.nextUrl.searchParams.get("next")));
    if (result.cookie) headers.append("set-cookie", sessionSetCookie(result.cookie));
  } else {
    headers.set("location", "/sign-in");
    headers.append("set-cookie", sessionSetCookie(null));
  }
  return new Response(null, { status: 303, headers });
}
