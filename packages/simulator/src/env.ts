/**
 * The only place this package reads process.env: the CLI's listening address. Read once. No
 * runtime mode here: the simulator behaves the same everywhere, and whether it is offered is
 * decided by @tokenvault/token (runtimeMode() in @tokenvault/db).
 */
export interface SimulatorEnv {
  port: number;
  host: string;
}

let cached: SimulatorEnv | undefined;

export function simulatorEnv(): SimulatorEnv {
  if (cached) return cached;
  // Its own variable: PORT belongs to the web app, and `pnpm dev` runs both.
  const rawPort = process.env.SIMULATOR_PORT?.trim();
  const port = rawPort ? Number(rawPort) : 4010;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`SIMULATOR_PORT must be an integer between 0 and 65535, got "${rawPort}"`);
  }
  const host = process.env.SIMULATOR_HOST?.trim() || "127.0.0.1";
  cached = { port, host };
  return cached;
}
