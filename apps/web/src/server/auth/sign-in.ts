import type { Caller } from "./caller";
import type { IssuedCookie, ServerSessions } from "./server-sessions";
import { CONTROL_CHARACTERS, fromAnotherOrigin } from "../api/request-checks";
import { DEFAULT_RETURN_PATH, parseReturnPath } from "./return-path";

/** Failed sign-ins counted per account and per client address (sign-in-limits.ts). */
export interface SignInLimiter {
  /** Seconds to wait when either count is spent, else null; checked before the password is. */
  blocked(account: string, address: string | null): Promise<number | null>;
  /** Counts a failure; returns seconds to wait when this one spent a count, else null. */
  failed(account: string, address: string | null): Promise<number | null>;
  /** A success clears the account's count (not the address's: one good password must not reset a spray). */
  succeeded(account: string): Promise<void>;
}

export interface SignInDeps {
  sessions: ServerSessions;
  verify: (userId: string, password: string) => Caller | null;
  limiter?: SignInLimiter;
  /** APP_URL's origin, which the app's own sign-in page sends as Origin behind a proxy that rewrites Host. */
  publicOrigin?: string | null;
  /** The client's address as TRUSTED_PROXIES lets us know it (client-address.ts). */
  clientAddress: (headers: Headers) => string | null;
  /** The Set-Cookie header value for a new session's cookie. */
  setCookie: (cookie: IssuedCookie) => string;
}

const MAX_FORM_BYTES = 4096;

/**
 * POST /api/auth/sign-in, the sign-in form's target: checks the limits, the password, starts a
 * server-side session. A browser (a form post) is sent back to a page with a code; any other
 * client gets the status: 400, 401, 403, 429 with Retry-After.
 */
export async function handleSignIn(request: Request, deps: SignInDeps): Promise<Response> {
  const form = wantsPage(request);
  const refuse = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    form
      ? redirect(`/sign-in?${new URLSearchParams({ error: code, ...(headers["retry-after"] && { retryAfter: headers["retry-after"] }) }).toString()}`, headers)
      : json(status, { error: { code, message } }, headers);
  // A form posted from another site (login CSRF), Origin: null included: refused before anything is read.
  if (fromAnotherOrigin(request.headers, deps.publicOrigin ?? null)) return json(403, { error: { code: "FORBIDDEN", message: "Cross-site sign-in refused." } });
  const fields = await readForm(request);
  if (!fields) return refuse(400, "BAD_REQUEST", "Send userId and password as a form.");
  const { userId, password } = fields;
  const address = deps.clientAddress(request.headers);
  const limited = (seconds: number) =>
    refuse(429, "TOO_MANY_ATTEMPTS", `Too many failed sign-ins. Try again in ${seconds} seconds.`, { "retry-after": String(seconds) });
  const wait = await deps.limiter?.blocked(userId, address);
  if (wait) return limited(wait);
  const caller = deps.verify(userId, password);
  if (!caller) {
    const spent = await deps.limiter?.failed(userId, address);
    if (spent) return limited(spent);
    return refuse(401, "BAD_CREDENTIALS", "Unknown user or wrong password.");
  }
  await deps.limiter?.succeeded(userId);
  const { cookie } = await deps.sessions.start(caller.userId, request.headers.get("user-agent"));
  const headers = { "set-cookie": deps.setCookie(cookie) };
  return form ? redirect(fields.next, headers) : json(200, { userId: caller.userId }, headers);
}

function wantsPage(request: Request): boolean {
  return (request.headers.get("content-type") ?? "").startsWith("application/x-www-form-urlencoded") && (request.headers.get("accept") ?? "").includes("text/html");
}

/** The form's fields, or null when anything is missing or malformed: `next` too, checked before a session starts. */
async function readForm(request: Request): Promise<{ userId: string; password: string; next: string } | null> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded") || !request.body) return null;
  // Read at most MAX_FORM_BYTES whatever Content-Length claims: a sign-in form is tiny.
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_FORM_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const params = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
  const userId = params.get("userId");
  const password = params.get("password");
  if (!userId || !password || userId.length > 256 || password.length > 1024 || CONTROL_CHARACTERS.test(userId)) return null;
  const requested = params.get("next");
  const next = requested ? parseReturnPath(requested) : DEFAULT_RETURN_PATH;
  return next === null ? null : { userId, password, next };
}

function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { location, "cache-control": "no-store", ...headers } });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });
}
