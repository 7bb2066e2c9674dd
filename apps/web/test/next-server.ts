import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const webRoot = join(import.meta.dirname, "..");

export interface RunningServer {
  url: string;
  /** The process `pnpm start` starts (`sh -c` of the start script), signalled by stop(); the bench reads its memory. */
  pid: number;
  output: () => string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** apps/web's `start` script, as package.json has it. */
export function startScript(): string {
  const pkg = JSON.parse(readFileSync(join(webRoot, "package.json"), "utf8")) as { scripts: Record<string, string> };
  return pkg.scripts.start!;
}

/**
 * Starts the production build (`pnpm start`: `next start`) of apps/web on a free port with the given
 * environment, and resolves once it answers HTTP. The build must exist: turbo runs
 * `build` before this package's tests.
 */
export async function startProductionServer(
  env: Record<string, string | undefined> | ((url: string) => Record<string, string | undefined>),
): Promise<RunningServer> {
  if (!existsSync(join(webRoot, ".next", "BUILD_ID"))) {
    throw new Error("apps/web has no production build: run `pnpm --filter @tokenvault/web build` first");
  }
  const port = await freePort();
  if (typeof env === "function") env = env(`http://127.0.0.1:${port}`);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production", PORT: String(port), PATH: `${join(webRoot, "node_modules", ".bin")}:${process.env.PATH}` };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  // Exactly what `pnpm start` runs (pnpm: `sh -c "<script> <args>"`), so `pid` is the process a
  // process manager would signal: the test signals that one, not the server behind it.
  const child: ChildProcess = spawn("sh", ["-c", `${startScript()} --hostname 127.0.0.1`], {
    cwd: webRoot,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pnpm start's script exited with ${child.exitCode}:\n${output}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(5_000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`pnpm start's server did not answer within 60 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url, pid: child.pid!, output: () => output, stop };
}
