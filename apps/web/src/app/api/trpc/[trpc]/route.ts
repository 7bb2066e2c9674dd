import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "~/server/api/root";
import { defaultContextDeps } from "~/server/api/services";
import { createContext } from "~/server/api/trpc";

const handler = (request: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () => createContext(defaultContextDeps, request),
  });

export { handler as GET, handler as POST };
