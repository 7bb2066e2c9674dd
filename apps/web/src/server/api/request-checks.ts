/**
 * Checks made before a request reaches a handler, shared by proxy.ts and the route handlers: no
 * imports, so the proxy's bundle stays small. Refusals use errors.ts errorResponse's shape.
 */

/** C0 and C1 controls and DEL: no text this app takes from a client has one. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this finds
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

function refusal(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status, headers: { "cache-control": "no-store" } });
}

/** A typed 400 for input refused before any work was done. */
export const badInput = () => refusal(400, "BAD_REQUEST", "Invalid input.");

/** A typed 403 for a state-changing request a browser sent from another origin. */
export const crossSiteRefused = () => refusal(403, "FORBIDDEN", "Cross-site request refused.");

/** A typed 415 for a mutation whose body is not JSON. */
export const jsonRequired = () => refusal(415, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json.");

/**
 * True when a browser says this request came from a page of another origin (login CSRF, a form
 * on a sibling subdomain). Browsers send Sec-Fetch-Site on every request: anything but
 * "same-origin" is refused. Origin must name this app: the public origin (APP_URL's) when it is
 * configured, or the host the request was sent to (Host, or X-Forwarded-Host from a proxy that
 * rewrites Host: a page on another site cannot add that header without a CORS preflight, which
 * this app never grants). "null" (a page with no-referrer, a sandboxed frame, a redirect through
 * another site) is refused too. A request with neither header came from no browser's page (curl,
 * a server), so no victim's cookie rides on it.
 */
export function fromAnotherOrigin(headers: Headers, publicOrigin: string | null = null): boolean {
  const site = headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin") return true;
  const origin = headers.get("origin");
  if (origin === null) return false;
  if (origin === "null") return true;
  let sent: URL;
  try {
    sent = new URL(origin);
  } catch {
    return true;
  }
  if (publicOrigin !== null && sent.origin === publicOrigin) return false;
  const forwardedHost = headers.get("x-forwarded-host")?.split(",")[0]?.trim();
  return sent.host !== headers.get("host") && (!forwardedHost || sent.host !== forwardedHost);
}

/** True when the body is declared application/json (parameters such as charset allowed). */
export function isJsonBody(headers: Headers): boolean {
  const type = headers.get("content-type");
  return type !== null && type.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** True for a request method that changes state (everything but GET, HEAD, OPTIONS). */
export const changesState = (method: string) => !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase());
