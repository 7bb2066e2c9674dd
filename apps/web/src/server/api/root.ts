import { auditRouter } from "./routers/audit";
import { connectionRouter } from "./routers/connection";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  connection: connectionRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller: server code calls the same procedures, with the same checks. */
export const createCaller = createCallerFactory(appRouter);
