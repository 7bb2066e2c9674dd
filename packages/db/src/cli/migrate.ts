// `pnpm db:migrate`: applies prisma/migrations to the configured database.
//
// Where Prisma's native schema engine is installed, `prisma migrate deploy` does the work.
// Where it is not (offline machines: the CLI can only download it), the project's own applier
// runs the same files and records them the same way. The embedded database always uses the
// applier, as the Prisma CLI cannot reach PGlite.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { openDatabase, pgExecutor, withPgClient } from "../client";
import { dbEnv } from "../env";
import { applyMigrations } from "../migrate";
import { repoRoot } from "../paths";

function nativeSchemaEngine(): string | undefined {
  const fromEnv = dbEnv().prismaSchemaEngineBinary;
  if (fromEnv && existsSync(fromEnv) && fromEnv !== process.execPath) return fromEnv;
  try {
    const dir = dirname(createRequire(import.meta.url).resolve("@prisma/engines/package.json"));
    const engine = readdirSync(dir).find((f) => f.startsWith("schema-engine"));
    return engine ? resolve(dir, engine) : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const env = dbEnv();
  if (!env.databaseUrl) {
    const db = await openDatabase({ pgliteDataDir: env.pgliteDataDir });
    await db.close();
    console.log(`Embedded database at ${env.pgliteDataDir} is up to date.`);
    return;
  }

  const engine = nativeSchemaEngine();
  if (engine) {
    const root = repoRoot();
    console.log(`Using Prisma's schema engine (${engine}): prisma migrate deploy`);
    const result = spawnSync("pnpm", ["exec", "prisma", "migrate", "deploy", "--config", resolve(root, "prisma.config.ts")], {
      stdio: "inherit",
    });
    process.exit(result.status ?? 1);
  }

  const result = await withPgClient(env.databaseUrl, (client) => applyMigrations(pgExecutor(client)));
  for (const name of result.applied) console.log(`Applied ${name}`);
  console.log(
    result.applied.length === 0
      ? `No pending migrations (${result.alreadyApplied.length} already applied).`
      : `${result.applied.length} migration(s) applied.`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
