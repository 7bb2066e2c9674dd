import type { NextRequest } from "next/server";
import { badInput } from "~/server/api/request-checks";
import { DEFAULT_RETURN_PATH, parseReturnPath } from "~/server/auth/return-path";
import { readCookie, serverSessions, sessionCookieName, sessionSetCookie } from "~/server/auth/session";

/**
 * A page whose session's access token lapsed sends the browser here: the refresh token is
 * rotated (a page render cannot set the cookie), then the browser goes back to the page. A
 * session that ended, or a replayed refresh token, goes to sign-in with the cookie cleared.
 */
export async function GET(request: NextRequest) {
  // Checked before the session is touched: a refused `next` must not rotate the refresh token
  // (a rotation whose cookie never reached the browser ends the session later as a "reuse").
  const requested = request.nextUrl.searchParams.get("next");
  const next = requested ? parseReturnPath(requested) : DEFAULT_RETURN_PATH;
  if (next === null) return badInput();
  const value = readCookie(request.headers, sessionCookieName());
  const result = value ? await serverSessions().resolve(value, { rotate: true }) : null;
  const headers = new Headers({ "cache-control": "no-store" });
  if (result?.kind === "active") {
    // The new cookie first: nothing after a rotation may lose it.
    if (result.cookie) headers.append("set-cookie", sessionSetCookie(result.cookie));
    headers.set("location", next);
  } else {
    headers.set("location", "/sign-in");
    headers.append("set-cookie", sessionSetCookie(null));
  }
  return new Response(null, { status: 303, headers });
}
