// A redis-server of the test's own, on a free port of 127.0.0.1, that a test may kill, freeze and
// restart (never the shared one on 6379).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REDIS_SERVER = "/usr/bin/redis-server";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` until it returns something other than undefined, or fails after `ms`. */
export async function until<T>(ms: number, check: () => Promise<T | undefined>, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface RedisServerOptions {
  password?: string;
  /** Keep data across kills (append-only file, fsync on every write) in a temporary directory. */
  persistent?: boolean;
}

export class RedisServer {
  private process: ChildProcess | undefined;
  private readonly dir: string | undefined;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {
    this.dir = options.persistent ? mkdtempSync(join(tmpdir(), "tokenvault-redis-")) : undefined;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://${this.options.password ? `:${this.options.password}@` : ""}127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port) and waits until it accepts connections. */
  async restart(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", ""];
    args.push(...(this.dir ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", this.dir] : ["--appendonly", "no"]));
    if (this.options.password) args.push("--requirepass", this.options.password);
    const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "inherit"] });
    this.process = child;
    let output = "";
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (!output.includes("Ready to accept connections")) return;
        child.stdout.off("data", onData);
        child.stdout.resume(); // keep draining what it logs later
        resolve();
      };
      child.stdout.on("data", onData);
      child.once("exit", (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: the server is gone at once, as in a crash. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  /** SIGSTOP / SIGCONT: connections stay open but nothing answers, as with a frozen host. */
  freeze(): void {
    this.process?.kill("SIGSTOP");
  }

  thaw(): void {
    this.process?.kill("SIGCONT");
  }

  async dispose(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
