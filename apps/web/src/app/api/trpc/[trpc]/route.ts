import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { closeConnection, limitBody } from "~/server/api/body-limit";
import { appRouter } from "~/server/api/root";
import { changesState, crossSiteRefused, fromAnotherOrigin, isJsonBody, jsonRequired } from "~/server/api/request-checks";
import { defaultContextDeps } from "~/server/api/services";
import { createContext } from "~/server/api/trpc";
import { webEnv } from "~/env";
import { retryAfterOf } from "~/server/limits/request-limits";
import { MAX_BATCH_SIZE } from "~/trpc/shared";

const handler = async (request: Request) => {
  // Mutations (tRPC takes them only by POST): from this app's own pages, and JSON only. tRPC also
  // reads multipart/form-data and octet-stream bodies, which a plain HTML form on another
  // origin can send without a preflight.
  if (changesState(request.method)) {
    if (fromAnotherOrigin(request.headers, webEnv().publicOrigin)) return crossSiteRefused();
    if (!isJsonBody(request.headers)) return jsonRequired();
  }
  // A body over MAX_REQUEST_BODY_BYTES fails as tRPC reads it: 413, never read whole.
  const limited = limitBody(request, webEnv().maxRequestBodyBytes);
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: limited.request,
    router: appRouter,
    // Each call may reach a provider; one request may not carry an unbounded number of them.
    maxBatchSize: MAX_BATCH_SIZE,
    createContext: ({ resHeaders }) => createContext(defaultContextDeps, limited.request, resHeaders),
    // A call refused by a per-user limit (429) says when to come back.
    responseMeta: ({ errors }) => {
      const retryAfter = retryAfterOf(errors);
      return retryAfter === null ? {} : { headers: new Headers({ "retry-after": String(retryAfter) }) };
    },
  });
  if (limited.refused()) for (const [name, value] of Object.entries(closeConnection)) response.headers.set(name, value);
  // Answers are one caller's data: no cache, shared or private, may keep them.
  response.headers.set("cache-control", "no-store");
  return response;
};

export { handler as GET, handler as POST };
