import { DEFAULT_MAX_REQUEST_BODY_BYTES } from "~/settings";
import { refuseDeclaredOversize } from "./body-limit";
import { errorResponse } from "./errors";
import { authorize, createContext, type Access, type AuthorizedContext, type ContextDeps } from "./trpc";

/**
 * The context of a route handler's request, built and checked as a procedure's is: the same
 * caller resolution, the same UNAUTHORIZED / FORBIDDEN errors, the same client details. The
 * handlers take no body (Next gives a GET none), so one declared over the limit is refused
 * before anything else, as a procedure's would be.
 */
export async function routeContext(deps: ContextDeps, request: Request, access: Access, responseHeaders?: Headers): Promise<AuthorizedContext> {
  refuseDeclaredOversize(request, deps.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES);
  return authorize(await createContext(deps, request, responseHeaders), access);
}

/**
 * Runs a JSON route handler for a caller with the given access. Whatever it throws (access
 * refused, bad input, a token error, anything unexpected) answers through errorResponse, with
 * the status and message a procedure would answer with.
 */
export async function jsonRoute(deps: ContextDeps, request: Request, access: Access, handle: (ctx: AuthorizedContext) => Promise<Response>): Promise<Response> {
  // A session renewed while resolving the caller: its cookie goes out with whatever answer follows.
  const sessionHeaders = new Headers();
  let response: Response;
  try {
    response = await handle(await routeContext(deps, request, access, sessionHeaders));
  } catch (error) {
    response = errorResponse(error);
  }
  return withSessionCookies(response, sessionHeaders);
}

/** The response with the Set-Cookie headers a resolver added (a renewed session); copied when its headers are immutable. */
export function withSessionCookies(response: Response, sessionHeaders: Headers): Response {
  const cookies = sessionHeaders.getSetCookie();
  if (cookies.length === 0) return response;
  let target = response;
  try {
    for (const cookie of cookies) target.headers.append("set-cookie", cookie);
  } catch {
    target = new Response(response.body, response);
    for (const cookie of cookies) target.headers.append("set-cookie", cookie);
  }
  return target;
}
