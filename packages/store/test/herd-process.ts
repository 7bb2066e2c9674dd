import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { join } from "node:path";

/** A herd worker process (a test file run with tsx) driven line by line over stdin/stdout, as in packages/token/test. */
export class HerdProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly queue: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private stderr = "";
  private exited: Error | undefined;
  private onExit: ((error: Error) => void) | undefined;

  constructor(worker: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, worker)], {
      cwd: join(import.meta.dirname, ".."),
      env: { ...process.env, ...env },
    });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.once("exit", (code) => {
      this.exited = new Error(`herd worker exited (${code}):\n${this.stderr}`);
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
        const timer = setTimeout(() => reject(new Error(`herd worker silent for ${timeoutMs} ms:\n${this.stderr}`)), timeoutMs);
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
