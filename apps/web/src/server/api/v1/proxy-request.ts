// What the /api/v1 proxy forwards and answers. The path is taken from the request as sent
// (still percent-encoded) and refused when it could name anything but a path below the
// connection's API base; tokenService.fetch then checks the URL it builds stays below that base.
// Headers that describe one hop (RFC 9110 7.6.1) or the client itself (its key, cookies,
// addresses) are never forwarded, and the provider's hop headers and cookies never come back.
import { TRPCError } from "@trpc/server";
import { TokenError } from "@tokenvault/token";
import { limitBody } from "../body-limit";

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/** Never sent on: the API key, the client's cookies and addresses, what fetch sets itself, and what the token service sets (the tenant header). */
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  "authorization",
  "cookie",
  "host",
  "content-length",
  "accept-encoding",
  "expect",
  "origin",
  "referer",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "idempotency-key",
  "xero-tenant-id",
]);

/** Never answered: one hop's headers, cookies of the provider's domain, and what no longer describes the (decoded, re-framed) body. */
const NOT_ANSWERED = new Set([...HOP_BY_HOP, "set-cookie", "content-encoding", "content-length", "alt-svc", "strict-transport-security"]);

/** Plus every header the Connection header names: hop-by-hop by declaration. */
function connectionNamed(headers: Headers): Set<string> {
  return new Set((headers.get("connection") ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean));
}

export function forwardedHeaders(incoming: Headers): Headers {
  const named = connectionNamed(incoming);
  const out = new Headers();
  incoming.forEach((value, name) => {
    if (NOT_FORWARDED.has(name) || named.has(name) || name.startsWith("sec-") || name.startsWith("x-tokenvault-")) return;
    out.set(name, value);
  });
  return out;
}

export function answeredHeaders(provider: Headers): Headers {
  const named = connectionNamed(provider);
  const out = new Headers();
  provider.forEach((value, name) => {
    if (!NOT_ANSWERED.has(name) && !named.has(name)) out.set(name, value);
  });
  out.set("tokenvault-source", "provider");
  return out;
}

const refused = (why: string) => new TokenError("INVALID_INPUT", `The proxied path ${why}.`);

/**
 * The provider path and query of a proxy request: what follows /proxy/ in the URL, percent-encoding
 * kept. Refused: an empty path, empty segments (`//`), `.` and `..` segments (also encoded),
 * encoded slashes or backslashes, a backslash, a NUL, and anything that reads as an absolute URL.
 */
export function proxyPath(requestUrl: string, connectionId: string): string {
  const url = new URL(requestUrl);
  const marker = `/api/v1/connections/${connectionId}/proxy/`;
  const at = url.pathname.indexOf(marker);
  if (at !== 0) throw refused("is not below the connection's proxy");
  const raw = url.pathname.slice(marker.length);
  if (raw === "") throw refused("is empty");
  if (/%(2f|5c|00)|\\/i.test(raw)) throw refused("has an encoded slash, a backslash or a NUL");
  const segments = raw.split("/");
  for (const segment of segments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw refused("is not valid percent-encoding");
    }
    if (segment === "" && segment !== segments.at(-1)) throw refused("has an empty segment");
    if (decoded === "." || decoded === "..") throw refused("climbs out of the API base");
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(decodeURIComponent(segments[0]!))) throw refused("is an absolute URL; send a path below the provider's API base");
  return `/${raw}${url.search}`;
}

/** The request's body, at most maxBytes (413 past it, as every other route), or undefined for GET / HEAD / no body. */
export async function boundedBody(request: Request, maxBytes: number): Promise<ArrayBuffer | undefined> {
  if (request.method === "GET" || request.method === "HEAD" || !request.body) return undefined;
  const body = await limitBody(request, maxBytes).request.arrayBuffer();
  return body.byteLength === 0 ? undefined : body;
}

/** The client's Idempotency-Key (lets the token service retry a POST): printable, at most 200 characters. */
export function idempotencyKeyOf(headers: Headers): string | undefined {
  const key = headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) throw new TRPCError({ code: "BAD_REQUEST", message: "Invalid input.", cause: new Error("idempotency-key") });
  return key;
}

/** The type of a provider's error body, which the token service keeps as text only. */
export function sniffedContentType(body: string): string {
  const start = body.trimStart()[0];
  if (start === "{" || start === "[") return "application/json";
  if (start === "<") return "application/xml";
  return "text/plain; charset=utf-8";
}
