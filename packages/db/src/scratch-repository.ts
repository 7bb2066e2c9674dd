import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const REPORT_MARK = "@@tokenvault-report ";

/**
 * Given to every module run() starts: `attempt(fn)` returns `{ value }` or `{ error: { name,
 * message, variable } }`, and `report(value)` hands a JSON value back to the test.
 */
const PRELUDE = `
const attempt = async (fn) => {
  try { return { value: await fn() }; }
  catch (error) { return { error: { name: error?.name, message: error?.message, variable: error?.variable } }; }
};
const report = (value) => console.log("\\n${REPORT_MARK}" + JSON.stringify(value));
`;

export interface ChildRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** What the module passed to report(), or undefined if it did not. */
  report: unknown;
}

export interface ScratchRepository {
  /** Holds pnpm-workspace.yaml, so repoRoot() in a child started here is this folder: its own .env and .data/. */
  readonly root: string;
  /**
   * Runs `source`, an ES module (TypeScript allowed; import the code under test by absolute file
   * URL), in a fresh Node process whose environment is exactly `env`: nothing is inherited, so
   * NODE_ENV is unset unless given, and the repository's own .env is never read.
   */
  run(source: string, env?: Record<string, string>): Promise<ChildRun>;
  remove(): Promise<void>;
}

/** A throw-away repository root in the system's temporary folder, for tests of start-up configuration. */
export async function createScratchRepository(): Promise<ScratchRepository> {
  const root = await mkdtemp(join(tmpdir(), "tokenvault-scratch-"));
  await writeFile(join(root, "pnpm-workspace.yaml"), "packages: []\n");
  // tsx's loader, resolved from this package, so any workspace package's tests can use this.
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  let runs = 0;
  return {
    root,
    async run(source, env = {}) {
      const file = join(root, `probe-${++runs}.mts`);
      await writeFile(file, `${PRELUDE}\n${source}\n`);
      return new Promise<ChildRun>((resolve, reject) => {
        // The cast is needed where Next.js's types declare NODE_ENV always present (apps/web); here it is often absent on purpose.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
        const child = spawn(process.execPath, ["--import", tsxLoader, file], { cwd: root, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (status) => {
          const line = stdout.split("\n").findLast((l) => l.startsWith(REPORT_MARK));
          resolve({ status, stdout, stderr, report: line === undefined ? undefined : (JSON.parse(line.slice(REPORT_MARK.length)) as unknown) });
        });
      });
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
