// Runs `prisma generate` for the workspace schema.
//
// Every Prisma CLI command first makes sure the native schema engine is present and
// downloads it when it is not. `generate` never uses that engine (Prisma 7 clients are
// Rust-free), so where the download host is unreachable we point the CLI at an existing
// file to skip the download. Where the engine can be fetched, nothing is overridden.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
env.CHECKPOINT_DISABLE = "1";

const result = spawnSync(
  process.platform === "win32" ? "pnpm.cmd" : "pnpm",
  ["exec", "prisma", "generate", "--config", resolve(root, "prisma.config.ts")],
  { cwd: resolve(root, "packages/db"), env, stdio: "inherit" },
);
process.exit(result.status ?? 1);
