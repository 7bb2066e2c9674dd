import { isDatabaseUnavailable } from "@tokenvault/db";
import { isStoreUnavailable } from "@tokenvault/store";
import { cookieSessionResolver, readCookie, sessionCookieName, SessionRefreshNeeded } from "./session";

/** Pages that read no session: nothing to check before them. */
const PUBLIC_PAGES = new Set(["/", "/sign-in"]);

// By name as well as class: the process's sessions may have been built by another copy of these modules.
const storeUnavailable = (error: unknown) => isStoreUnavailable(error) || isDatabaseUnavailable(error);

/**
 * Run by the proxy before a page that shows a signed-in user: a page render cannot answer 503
 * once Next has started it (its status is 200 or a generic 500), so the session is resolved
 * here first, with the same resolver and the same process-wide sessions (and fallback cache) as
 * the API. When the session store cannot vouch for the cookie, the answer is a 503 page; in
 * every other case (no cookie, a session, none, a refresh due) the page runs and decides.
 */
export async function sessionStoreUnavailablePage(pathname: string, headers: Headers, policy: string): Promise<Response | null> {
  if (PUBLIC_PAGES.has(pathname) || !readCookie(headers, sessionCookieName())) return null;
  try {
    await cookieSessionResolver({ headers });
    return null;
  } catch (error) {
    if (error instanceof SessionRefreshNeeded || !storeUnavailable(error)) return null;
    return new Response(UNAVAILABLE_PAGE, {
      status: 503,
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "retry-after": "5", "content-security-policy": policy },
    });
  }
}

// Static, without scripts or styles: the Content-Security-Policy allows nothing inline without the nonce.
const UNAVAILABLE_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Try again shortly · Tokenvault</title></head>
<body>
<main>
<h1>The session store is not answering</h1>
<p>Tokenvault cannot check your sign-in right now. You are not signed out: try again shortly.</p>
<p><a href="">Try again</a></p>
</main>
</body>
</html>
`;
