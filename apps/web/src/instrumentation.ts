// Runs once when the server starts: a bad setting stops the process here, with the variable
// named, instead of failing a request later. Then the server owns the token service's shutdown.
export async function register(): Promise<void> {
  // The literal comparison lets Next drop the Node-only import from the Edge bundle.
  // eslint-disable-next-line no-restricted-properties
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { validateEnvironment } = await import("./validate-environment");
    validateEnvironment();
    // SIGTERM/SIGINT write queued audit rows, then close the database. The start scripts set
    // NEXT_MANUAL_SIG_HANDLE so Next leaves the signals to this (its own handler exits at once).
    const { closeOnShutdown, closeTokenService } = await import("@tokenvault/token");
    const { closeDatabase, runtimeMode } = await import("@tokenvault/db");
    const mode = runtimeMode();
    if (mode.mode === "development" && mode.database === "embedded") {
      // The embedded database (PGlite) is this process's alone, so the background worker runs
      // here, its pg-boss queue on the same PGlite instance (docs/worker-and-webhooks.md).
      try {
        const { startWorkerFromEnvironment } = await import("@tokenvault/worker");
        const worker = await startWorkerFromEnvironment({ storeCleanup: false });
        closeOnShutdown(() => worker.stop());
      } catch (error) {
        console.error(`Tokenvault: the background worker did not start: ${error instanceof Error ? error.message.slice(0, 300) : "unknown error"}`);
      }
    }
    closeOnShutdown(closeTokenService);
    const { closeLimiters } = await import("./server/limits/limiter-factory");
    closeOnShutdown(closeLimiters);
    closeOnShutdown(closeDatabase);
  }
}
