// The worker process (`pnpm worker`): validates its settings, starts pg-boss on the app's
// PostgreSQL database, and on SIGTERM/SIGINT stops it gracefully, then writes queued audit rows
// and closes the database (closeOnShutdown runs the steps in this order, bounded to 10 s).
import { closeDatabase } from "@tokenvault/db";
import { closeOnShutdown, closeTokenService, validateTokenEnvironment } from "@tokenvault/token";
import { workerEnv } from "./env";
import { startWorkerFromEnvironment } from "./from-environment";
import { startMetricsServer } from "./metrics-server";

async function main(): Promise<void> {
  const env = workerEnv();
  validateTokenEnvironment();
  if (env.databaseUrl === null) {
    // PGlite is one process's database: the dev server that owns it runs the worker itself.
    console.error("worker: no DATABASE_URL. On the embedded database the worker runs inside the web dev server (`pnpm dev`); set DATABASE_URL to run it as its own process.");
    process.exit(1);
  }
  // The shutdown steps are registered before anything starts: a SIGTERM that arrives just after
  // "worker started" is logged (or during start-up) still stops the worker gracefully.
  const running: { worker?: { stop(): Promise<void> }; metrics?: { close(): Promise<void> } } = {};
  closeOnShutdown(async () => running.worker?.stop());
  closeOnShutdown(async () => running.metrics?.close());
  closeOnShutdown(closeTokenService);
  closeOnShutdown(closeDatabase);
  running.worker = await startWorkerFromEnvironment();
  if (env.metrics) running.metrics = await startMetricsServer(env.metrics);
}

main().catch((error: unknown) => {
  console.error(`worker: could not start: ${error instanceof Error ? error.message.slice(0, 300) : "unknown error"}`);
  process.exit(1);
});
