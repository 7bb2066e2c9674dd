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
    const { closeDatabase } = await import("@tokenvault/db");
    closeOnShutdown(closeTokenService);
    closeOnShutdown(closeDatabase);
  }
}
