import { apiKeyRouter } from "./routers/api-key";
import { auditRouter } from "./routers/audit";
import { connectionRouter } from "./routers/connection";
import { providerRouter } from "./routers/provider";
import { sessionRouter } from "./routers/session";
import { webhookRouter } from "./routers/webhook";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  provider: providerRouter,
  connection: connectionRouter,
  audit: auditRouter,
  session: sessionRouter,
  webhook: webhookRouter,
  apiKey: apiKeyRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller: server code calls the same procedures, with the same checks. */
export const createCaller = createCallerFactory(appRouter);
