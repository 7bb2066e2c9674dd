import { webEnv } from "~/env";
import { clientAddress } from "~/server/api/client-address";
import { verifyLocalUser } from "~/server/auth/local-users";
import { serverSessions, sessionSetCookie } from "~/server/auth/session";
import { handleSignIn } from "~/server/auth/sign-in";
import { signInLimiter } from "~/server/auth/sign-in-limits";

/** The sign-in form posts here (see server/auth/sign-in.ts). */
export async function POST(request: Request) {
  const env = webEnv();
  return handleSignIn(request, {
    sessions: serverSessions(),
    publicOrigin: env.publicOrigin,
    verify: (userId, password) => (env.demoUsers ? verifyLocalUser(userId, password) : null),
    limiter: await signInLimiter(),
    clientAddress: (headers) => clientAddress(headers, env.trustedProxies),
    setCookie: sessionSetCookie,
  });
}
