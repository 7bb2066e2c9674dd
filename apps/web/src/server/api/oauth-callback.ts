import { errorDetails, errorResponse, parseInput, toTRPCError } from "./errors";
import { routeContext, withSessionCookies } from "./route-handler";
import { providerId } from "./routers/schemas";
import type { ContextDeps } from "./trpc";

/**
 * The provider redirects to /api/oauth/[provider]/callback after consent. The state is checked,
 * the code exchanged and the tokens stored by the token service; the user goes back to the
 * dashboard with a code in the URL, or to the organisation picker when the consent reached several. An alias in the path ("qbo") acts on its provider.
 */
export async function oauthCallback(deps: ContextDeps, request: Request, providerSegment: string): Promise<Response> {
  const sessionHeaders = new Headers();
  return withSessionCookies(await answer(deps, request, providerSegment, sessionHeaders), sessionHeaders);
}

async function answer(deps: ContextDeps, request: Request, providerSegment: string, sessionHeaders: Headers): Promise<Response> {
  try {
    // Only an administrator can start a connection, and only one can finish it: a member's
    // callback is refused before the state is looked at, so it stays the admin's to complete.
    const ctx = await routeContext(deps, request, "admin", sessionHeaders);
    const result = await ctx.tokenService.handleCallback({
      provider: parseInput(providerId, providerSegment),
      callbackUrl: request.url,
      companyId: ctx.caller.companyId,
      context: ctx.requestContext,
    });
    // Several organisations from one consent: the admin picks which stay (all ticked). The consent
    // is already stored, so the code is spent and no token leaves the server; the picker removes
    // the unticked ones (see docs/web-app.md, "The organisation picker"). The ids are signed for
    // this company: the picker accepts no set this callback did not offer (picker-offers.ts).
    if (result.connections.length > 1) {
      const ids = result.connections.map((c) => c.id);
      const offer = ctx.pickerOffers.sign(ctx.caller.companyId, ids);
      return redirectTo(`/connections/organisations?${new URLSearchParams({ provider: result.provider, ids: ids.join(","), offer }).toString()}`);
    }
    return redirectTo(`/connections?${new URLSearchParams({ connected: result.provider }).toString()}`);
  } catch (error) {
    const refused = toTRPCError(error);
    if (refused.code === "UNAUTHORIZED") return redirectTo("/sign-in?error=SESSION_ENDED");
    if (refused.code === "PAYLOAD_TOO_LARGE") return errorResponse(refused);
    if (refused.code === "FORBIDDEN") return redirectTo("/connections?error=ADMIN_ONLY");
    // A code, not a message: the page shows its own text, so a crafted link cannot put words on it.
    // The only input is the path's provider: one that is not a provider id is an unknown provider.
    const { tokenErrorCode, fieldErrors } = errorDetails(refused);
    return redirectTo(`/connections?${new URLSearchParams({ error: tokenErrorCode ?? (fieldErrors ? "UNKNOWN_PROVIDER" : "UNKNOWN") }).toString()}`);
  }
}

/** A relative Location: the browser stays on the host it came from (Next's nextUrl may name another). */
function redirectTo(path: string): Response {
  return new Response(null, { status: 303, headers: { location: path, "cache-control": "no-store" } });
}
