import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../src/paths";

// turbo runs tasks in strict env mode: a variable turbo.json does not list is dropped from the
// environment of `pnpm dev`, `pnpm build` and `pnpm test`, so a shell's TOKEN_STORE=redis would
// silently not reach the app.

const root = repoRoot();

/** Every env.ts of the workspace's apps and packages (where configuration is read). */
function envFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === "node_modules" || name === "generated" || name.startsWith(".")) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === "env.ts") files.push(path);
    }
  };
  for (const group of ["apps", "packages"]) {
    for (const workspace of readdirSync(join(root, group))) {
      const src = join(root, group, workspace, "src");
      if (statSync(join(root, group, workspace)).isDirectory() && readdirSync(join(root, group, workspace)).includes("src")) walk(src);
    }
  }
  return files;
}

/** The variables an env.ts reads: its schemas' keys (UPPER_CASE) and any process.env.NAME. */
function variablesOf(source: string): string[] {
  const keys = [...source.matchAll(/^\s+([A-Z][A-Z0-9_]*)\s*:/gm)].map((m) => m[1]!);
  const direct = [...source.matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);
  return [...keys, ...direct];
}

interface TurboConfig {
  globalEnv?: string[];
  globalPassThroughEnv?: string[];
}

function listed(config: TurboConfig): string[] {
  return [...(config.globalEnv ?? []), ...(config.globalPassThroughEnv ?? [])];
}

const covers = (patterns: string[], name: string) =>
  patterns.some((p) => (p.endsWith("*") ? name.startsWith(p.slice(0, -1)) : p === name));

describe("turbo.json passes every configuration variable through", () => {
  const files = envFiles();
  const turbo = JSON.parse(readFileSync(join(root, "turbo.json"), "utf8")) as TurboConfig;

  it("finds the env.ts files and their variables", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    const all = files.flatMap((f) => variablesOf(readFileSync(f, "utf8")));
    expect(all).toEqual(expect.arrayContaining(["DATABASE_URL", "TOKEN_STORE", "METRICS_TOKEN", "SESSION_SECRET", "SIMULATOR_PORT"]));
  });

  it("lists each variable an env.ts reads in globalEnv or globalPassThroughEnv", () => {
    const patterns = listed(turbo);
    const missing = files.flatMap((file) =>
      variablesOf(readFileSync(file, "utf8"))
        .filter((name) => !covers(patterns, name))
        .map((name) => `${name} (${file.slice(root.length + 1)})`),
    );
    expect([...new Set(missing)]).toEqual([]);
  });

});
