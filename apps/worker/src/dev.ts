// `pnpm dev` starts this beside the web app (NODE_ENV=development, as `next dev` sets it, so both
// see the same providers). On a PostgreSQL server (DATABASE_URL) it is the
// worker process; on the embedded database it only says where the worker runs: inside the web
// dev server, the one process that may open the PGlite files (see docs/worker-and-webhooks.md,
// "Where it runs in development").
import { workerEnv } from "./env";

if (workerEnv().databaseUrl === null) {
  console.log("worker: embedded database: the worker runs inside the web dev server (apps/web instrumentation).");
} else {
  await import("./main");
}
