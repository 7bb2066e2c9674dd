import { NextResponse, type NextRequest } from "next/server";

/**
 * Runs before routing on every request without a body. A path that is not valid
 * percent-encoding (/api/trpc/%FF) fails Next's own decoding of route parameters with a bare 500
 * before any handler runs: it is refused here with the typed 400 a route handler answers bad
 * input with (errors.ts errorResponse's shape, built here to keep this bundle small).
 */
export function proxy(request: NextRequest): NextResponse {
  try {
    decodeURIComponent(request.nextUrl.pathname);
  } catch {
    return NextResponse.json({ error: { code: "BAD_REQUEST", message: "Invalid input." } }, { status: 400, headers: { "cache-control": "no-store" } });
  }
  return NextResponse.next();
}

export const config = {
  matcher: [
    {
      source: "/((?!_next/static|_next/image|favicon.ico).*)",
      // Never a request with a body: Next buffers a proxied request's body (up to 10 MB) and
      // reads it to the end before the route runs, which would defeat the body limit.
      missing: [
        { type: "header", key: "content-length" },
        { type: "header", key: "transfer-encoding" },
      ],
    },
  ],
};
