// `pnpm token:import` in its own process, for the tests that run it: the file's harness (closed
// after it; faults cleared and leftover CLI processes killed after each test) and a spawner that
// wires the CLI from the environment to the test database and the simulator, as a user's shell would.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, inject } from "vitest";
import { createHarness, type Harness } from "./harness";

export interface ImportCli {
  /** The file's harness (set once its `beforeAll` has run). */
  readonly h: Harness;
  /** Runs the CLI as `pnpm token:import` would: in packages/token, with the user's directory in INIT_CWD. */
  spawn(dir: string, args: string[], env?: Record<string, string>): ChildProcess;
}

export function useImportCli(): ImportCli {
  let h: Harness | undefined;
  const started: ChildProcess[] = [];
  beforeAll(async () => {
    h = await createHarness(inject("databaseUrl"));
  });
  afterAll(() => h?.close());
  afterEach(async () => {
    for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await h?.sim.clearFaults();
  });
  const harness = () => {
    if (!h) throw new Error("the import CLI harness is used before its beforeAll ran");
    return h;
  };
  return {
    get h() {
      return harness();
    },
    spawn(dir, args, env = {}) {
      const { sim, keyHex } = harness();
      const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../src/cli/import-tokens.ts"), ...args], {
        cwd: join(import.meta.dirname, ".."),
        env: { ...process.env, NODE_ENV: "test", DATABASE_URL: inject("databaseUrl"), PROVIDER_SIMULATOR_URL: sim.url, TOKEN_ENCRYPTION_KEY: keyHex, INIT_CWD: dir, ...env },
      });
      started.push(child);
      return child;
    },
  };
}
