import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy } from "./content-security-policy";
import { badInput, changesState, crossSiteRefused, fromAnotherOrigin } from "./server/api/request-checks";
import { sessionStoreUnavailablePage } from "./server/auth/session-gate";

/**
 * Runs before routing on every page request, and on every API request without a body.
 *
 * - A path that is not valid percent-encoding (/api/trpc/%FF) fails Next's own decoding of route
 *   parameters with a bare 500 before any handler runs: it is refused here with the typed 400 a
 *   route handler answers bad input with (errors.ts errorResponse's shape, built here to keep
 *   this bundle small).
 * - Pages get a fresh nonce and the Content-Security-Policy built with it, whatever the method
 *   and whether or not a body came with the request: every HTML answer carries the policy.
 * - A page request that changes state (a server action's POST) from another origin is refused:
 *   Next refuses a foreign Origin itself, but not a browser's POST without Origin that says
 *   Sec-Fetch-Site: cross-site.
 * - A request that arrived over HTTPS (TLS here, or X-Forwarded-Proto: https from the proxy that
 *   terminated it) is told to stay on HTTPS (HSTS); over plain HTTP a browser ignores the header.
 * - A page for a signed-in user whose session the store cannot vouch for (an outage) answers 503
 *   with a page that says so (session-gate.ts): the page itself could only fail with a 500.
 */
export async function proxy(request: NextRequest): Promise<Response> {
  const { pathname, protocol } = request.nextUrl;
  try {
    decodeURIComponent(pathname);
  } catch {
    return badInput();
  }
  const https = protocol === "https:";
  let response: NextResponse;
  if (pathname.startsWith("/api/")) {
    response = NextResponse.next();
  } else {
    if (changesState(request.method) && fromAnotherOrigin(request.headers)) return crossSiteRefused();
    const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64");
    // The literal comparison is inlined at build time, like instrumentation.ts's NEXT_RUNTIME.
    // eslint-disable-next-line no-restricted-properties
    const policy = contentSecurityPolicy(nonce, { development: process.env.NODE_ENV === "development", https });
    const headers = new Headers(request.headers);
    headers.set("content-security-policy", policy);
    // Set here, whatever the client sent: where a page sends the browser back after a session refresh.
    headers.set("x-tokenvault-page", `${pathname}${request.nextUrl.search}`);
    const unavailable = await sessionStoreUnavailablePage(pathname, request.headers, policy);
    if (unavailable) return withTransportSecurity(unavailable, https);
    response = NextResponse.next({ request: { headers } });
    response.headers.set("content-security-policy", policy);
  }
  return withTransportSecurity(response, https);
}

function withTransportSecurity<R extends Response>(response: R, https: boolean): R {
  if (https) response.headers.set("strict-transport-security", "max-age=31536000; includeSubDomains");
  return response;
}

export const config = {
  matcher: [
    {
      source: "/api/:path*",
      // Never an API request with a body: Next buffers a proxied request's body and reads it to
      // the end before the route runs, which would defeat MAX_REQUEST_BODY_BYTES.
      missing: [
        { type: "header", key: "content-length" },
        { type: "header", key: "transfer-encoding" },
      ],
    },
    // Every page request, bodies included (server actions' bodies are buffered up to
    // proxyClientMaxBodySize in next.config.ts, their own limit).
    "/((?!api/|_next/static|_next/image|favicon.ico).*)",
  ],
};
