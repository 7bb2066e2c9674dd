import { defaultMetricsText } from "@tokenvault/token";
import { webEnv } from "~/env";
import { hasBearerToken } from "~/server/api/bearer-token";

/**
 * Prometheus metrics of this process (token service and Node process). Off (404) unless
 * METRICS_TOKEN is set; a scraper then presents it as a bearer token (401 otherwise).
 */
export async function GET(request: Request) {
  const token = webEnv().metricsToken;
  const noStore = { "cache-control": "no-store" };
  if (token === null) return new Response("Not found", { status: 404, headers: noStore });
  if (!hasBearerToken(request, token)) return new Response("Unauthorized", { status: 401, headers: { ...noStore, "www-authenticate": "Bearer" } });
  const { body, contentType } = await defaultMetricsText();
  return new Response(body, { status: 200, headers: { ...noStore, "content-type": contentType } });
}
