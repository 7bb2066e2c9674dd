import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * The repository root: the nearest folder above the working directory holding
 * pnpm-workspace.yaml. Found from the working directory rather than this file's location
 * because bundlers (Next.js) move this file at build time, while every app and script of the
 * workspace runs with its working directory inside the repository.
 */
export function repoRoot(from: string = process.cwd()): string {
  let dir = resolve(/*turbopackIgnore: true*/ from);
  for (;;) {
    if (existsSync(join(/*turbopackIgnore: true*/ dir, "pnpm-workspace.yaml"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`Cannot find the Tokenvault repository root (pnpm-workspace.yaml) above ${from}`);
    }
    dir = parent;
  }
}

let envFileLoaded = false;

/**
 * Loads `.env` from the repository root into process.env once, if the file exists. Variables
 * already set in the environment win, so CI and shells override the file.
 */
export function loadRootEnvFile(): void {
  if (envFileLoaded) return;
  envFileLoaded = true;
  const file = join(/*turbopackIgnore: true*/ repoRoot(), ".env");
  if (existsSync(file)) process.loadEnvFile(file);
}

/**
 * A development secret kept in the git-ignored .data/ folder beside the embedded database:
 * read if present, else created once with `generate` (mode 0600). Only for a fresh clone
 * outside production; callers decide when that applies.
 */
export function loadOrCreateDevSecret(fileName: string, generate: () => string, onCreate?: (file: string) => void): string {
  const file = join(/*turbopackIgnore: true*/ repoRoot(), ".data", fileName);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = generate();
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  onCreate?.(file);
  return secret;
}
