import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { pathToFileURL } from "node:url";

// tsx's loader, resolved from this package, so any workspace package's tests can use this.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * A TypeScript script run in its own OS process (the herd tests' workers) and driven line by
 * line: commands go to its stdin, each stdout line is one JSON answer.
 */
export class LineProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly queue: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private stderr = "";
  private exited: Error | undefined;
  private onExit: ((error: Error) => void) | undefined;

  /** `script`: an absolute path; `env` is added to this process's environment. */
  constructor(script: string, env: Record<string, string>, cwd = dirname(script)) {
    this.child = spawn(process.execPath, ["--import", tsxLoader, script], {
      cwd,
      // A test helper: the worker gets the test runner's environment plus the run's own settings.
      // eslint-disable-next-line no-restricted-properties
      env: { ...process.env, ...env },
    });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    // A child exiting while a line is on its way closes stdin under the write (EPIPE): its exit,
    // with its stderr, is what reports it (next() rejects; stop() sees it ended), not a crash here.
    this.child.stdin.on("error", () => undefined);
    this.child.once("exit", (code) => {
      this.exited = new Error(`worker exited (${code}):\n${this.stderr}`);
      this.onExit?.(this.exited);
    });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on("line", (line) => {
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve(line);
      } else this.queue.push(line);
    });
  }

  async next<T>(timeoutMs = 30_000): Promise<T> {
    const line =
      this.queue.shift() ??
      (await new Promise<string>((resolve, reject) => {
        if (this.exited) return reject(this.exited);
        const timer = setTimeout(() => reject(new Error(`worker silent for ${timeoutMs} ms:\n${this.stderr}`)), timeoutMs);
        this.onExit = (error) => {
          clearTimeout(timer);
          reject(error);
        };
        this.waiting = (l) => {
          clearTimeout(timer);
          this.onExit = undefined;
          resolve(l);
        };
      }));
    return JSON.parse(line) as T;
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.send("quit");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (this.child.exitCode === null) this.child.kill();
  }
}
