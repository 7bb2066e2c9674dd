/**
 * Graceful shutdown for the processes that own a service (web server, CLIs, workers): queued
 * audit rows are written and connections closed when the process is told to stop. `beforeExit`
 * alone is not enough: it never fires on SIGTERM, which is how deployments stop a process.
 */
const closers: (() => Promise<void>)[] = [];
let installed = false;
let closing: Promise<void> | undefined;

/** How long shutdown waits for the closers before exiting anyway (a database that is down must not hang the process). */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** Runs every registered closer once, in registration order; failures are logged, not thrown. */
export function runClosers(): Promise<void> {
  closing ??= (async () => {
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        console.error(`shutdown: a close step failed: ${error instanceof Error ? error.message.slice(0, 200) : "unknown"}`);
      }
    }
  })();
  return closing;
}

/**
 * Registers `close` to run when the process is asked to stop (SIGTERM, SIGINT: then it exits
 * with the signal's code) or runs out of work (beforeExit). Register in dependency order: the
 * token service before the database it writes to.
 */
export function closeOnShutdown(close: () => Promise<void>): void {
  closers.push(close);
  if (installed) return;
  installed = true;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      process.exitCode = EXIT_CODES[signal];
      // Not unref'd: it keeps the process alive until the closers finish. Some of them wait on
      // sockets that are deliberately unref'd (the LISTEN connection); without a handle holding
      // the event loop, the process would drain and exit 0 half-way through closing.
      setTimeout(() => process.exit(EXIT_CODES[signal]), SHUTDOWN_TIMEOUT_MS);
      void runClosers().finally(() => process.exit(EXIT_CODES[signal]));
    });
  }
  process.once("beforeExit", () => void runClosers());
}
