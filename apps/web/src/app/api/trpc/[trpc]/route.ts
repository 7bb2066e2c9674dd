import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "~/server/api/root";
import { defaultContextDeps } from "~/server/api/services";
import { createContext } from "~/server/api/trpc";
import { MAX_BATCH_SIZE } from "~/trpc/shared";

const handler = (request: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    // Each call may reach a provider; one request may not carry an unbounded number of them.
    maxBatchSize: MAX_BATCH_SIZE,
    createContext: () => createContext(defaultContextDeps, request),
  });

export { handler as GET, handler as POST };
