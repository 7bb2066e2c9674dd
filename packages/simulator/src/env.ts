import { createEnv } from "@t3-oss/env-core";
import { blankIsUnset, envSource, optionalText } from "@tokenvault/kit";
import { z } from "zod";

/**
 * The only place this package reads the environment: the CLI's listening address. Read once. No
 * runtime mode here: the simulator behaves the same everywhere, and whether it is offered is
 * decided by @tokenvault/token (runtimeMode() in @tokenvault/kit).
 */
export interface SimulatorEnv {
  port: number;
  host: string;
}

let cached: SimulatorEnv | undefined;

export function simulatorEnv(): SimulatorEnv {
  if (cached) return cached;
  const env = createEnv({
    server: {
      // Its own variable: PORT belongs to the web app, and `pnpm dev` runs both.
      SIMULATOR_PORT: blankIsUnset(z.coerce.number().int("must be an integer").min(0, "must be between 0 and 65535").max(65_535, "must be between 0 and 65535").default(4010)),
      SIMULATOR_HOST: optionalText,
    },
    ...envSource("simulator"),
  });
  cached = { port: env.SIMULATOR_PORT, host: env.SIMULATOR_HOST ?? "127.0.0.1" };
  return cached;
}
