// The processes `pnpm soak` starts besides the production web server: the worker (`pnpm worker`'s
// command) and the token-service load processes, and the resident memory of any of them.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FromLoad, LoadConfig, ToLoad } from "./ledger";

const workerDir = fileURLToPath(new URL("../../worker", import.meta.url));

/** Resident memory in MB of the process and its descendants (Linux /proc); 0 once it is gone. */
export function rssMb(pid: number): number {
  let kb = 0;
  const visit = (p: number) => {
    try {
      kb += Number(readFileSync(`/proc/${p}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").trim();
        for (const child of children ? children.split(" ") : []) visit(Number(child));
      }
    } catch {
      // The process ended between reads: nothing more to count.
    }
  };
  visit(pid);
  return Math.round(kb / 1024);
}

export interface Worker {
  process: ChildProcess;
  output(): string;
  /** The worker's pino lines (JSON), parsed. */
  lines(): { msg?: string; time?: string | number; downMs?: number }[];
  stop(): Promise<number | null>;
}

/** The worker as `pnpm worker` runs it (tsx src/main.ts), on `databaseUrl`, scanning every minute. */
export function startWorker(env: { databaseUrl: string; keyHex: string; simulatorUrl: string; connectTimeoutMs: number; queryTimeoutMs: number }): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: workerDir,
    env: {
      // The soak's own environment passes on (PATH, NODE_OPTIONS with the network guard), as a test's does.
      // eslint-disable-next-line no-restricted-properties
      ...process.env,
      NODE_ENV: "production",
      DATABASE_URL: env.databaseUrl,
      DATABASE_CONNECT_TIMEOUT_MS: String(env.connectTimeoutMs),
      DATABASE_QUERY_TIMEOUT_MS: String(env.queryTimeoutMs),
      TOKEN_ENCRYPTION_KEY: env.keyHex,
      PROVIDER_SIMULATOR_URL: env.simulatorUrl,
      WORKER_SCAN_CRON: "* * * * *",
      WORKER_JITTER_SECONDS: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    process: child,
    output: () => output,
    lines: () =>
      output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as { msg?: string; time?: string | number; downMs?: number }];
          } catch {
            return [];
          }
        }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

export interface LoadProcess {
  process: ChildProcess;
  send(message: ToLoad): void;
  ready: Promise<void>;
  done: Promise<Extract<FromLoad, { type: "done" }>>;
}

/** A token-service load process (token-load.ts), started with `config`. */
export function startLoad(config: LoadConfig): LoadProcess {
  const child = fork(fileURLToPath(new URL("./token-load.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let resolveReady: () => void;
  let resolveDone: (report: Extract<FromLoad, { type: "done" }>) => void;
  let reject: (error: Error) => void;
  const ready = new Promise<void>((resolve, fail) => ((resolveReady = resolve), (reject = fail)));
  const done = new Promise<Extract<FromLoad, { type: "done" }>>((resolve, fail) => {
    resolveDone = resolve;
    const previous = reject;
    reject = (error) => (previous(error), fail(error));
  });
  done.catch(() => {}); // observed by whoever awaits it; a failed start rejects `ready` too
  child.on("message", (message: FromLoad) => {
    if (message.type === "ready") resolveReady();
    if (message.type === "done") resolveDone(message);
    if (message.type === "failed") reject(new Error(`load process: ${message.error}`));
  });
  child.once("exit", (code) => reject(new Error(`load process exited with ${code} before its report`)));
  const send = (message: ToLoad) => {
    if (child.connected) child.send(message);
  };
  send({ type: "start", config });
  return { process: child, send, ready, done };
}
