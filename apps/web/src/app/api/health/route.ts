import { webEnv } from "~/env";
import { refuseDeclaredOversize } from "~/server/api/body-limit";
import { errorResponse } from "~/server/api/errors";
import { hasHealthToken, healthReport } from "~/server/api/health";
import { jsonRoute } from "~/server/api/route-handler";
import { defaultContextDeps } from "~/server/api/services";

const answer = async () => {
  const report = await healthReport();
  return Response.json(report, { status: report.status === "ok" ? 200 : 503, headers: { "cache-control": "no-store" } });
};

/** For operators: the HEALTH_TOKEN bearer (a monitor), or else an administrator's session. */
export async function GET(request: Request) {
  const env = webEnv();
  if (!hasHealthToken(request, env.healthToken)) return jsonRoute(defaultContextDeps, request, "admin", answer);
  try {
    // The bearer skips the session, not the body limit every route handler applies.
    refuseDeclaredOversize(request, env.maxRequestBodyBytes);
    return await answer();
  } catch (error) {
    return errorResponse(error);
  }
}
