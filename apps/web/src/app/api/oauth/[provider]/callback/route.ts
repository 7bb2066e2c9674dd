import type { NextRequest } from "next/server";
import { TokenError } from "@tokenvault/token";
import { defaultContextDeps } from "~/server/api/services";
import { createContext } from "~/server/api/trpc";

/**
 * The provider redirects here after consent. The state is checked, the code exchanged and the
 * tokens stored by the token service; the user goes back to the dashboard with a message.
 */
export async function GET(request: NextRequest, { params }: { params: Promise<{ provider: string }> }) {
  const { provider } = await params;
  const back = new URLSearchParams();
  // The same caller and client details as a tRPC procedure gets.
  const { caller, tokenService, ipAddress, userAgent } = await createContext(defaultContextDeps, request);
  if (!caller) {
    return redirectTo("/sign-in?error=SESSION_ENDED");
  }
  try {
    await tokenService.handleCallback({
      provider,
      callbackUrl: request.url,
      companyId: caller.companyId,
      context: { userId: caller.userId, ipAddress, userAgent },
    });
    back.set("connected", provider);
  } catch (error) {
    // A code, not a message: the page shows its own text, so a crafted link cannot put words on it.
    back.set("error", error instanceof TokenError ? error.code : "UNKNOWN");
    if (!(error instanceof TokenError)) console.error("oauth callback failed:", error instanceof Error ? error.message.slice(0, 200) : "unknown");
  }
  return redirectTo(`/connections?${back.toString()}`);
}

/** A relative Location: the browser stays on the host it came from (Next's nextUrl may name another). */
function redirectTo(path: string): Response {
  return new Response(null, { status: 303, headers: { location: path, "cache-control": "no-store" } });
}
