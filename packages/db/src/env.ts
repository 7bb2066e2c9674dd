import { resolve } from "node:path";
import { z } from "zod";
import { loadRootEnvFile, repoRoot } from "./paths";

/** The only place this package reads process.env. Validated once, on first use. */
const schema = z.object({
  // Read as given; runtime-mode.ts decides what it means (anything but development/test is production).
  NODE_ENV: z.string().optional(),
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === "" ? undefined : v))
    .refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
      message: "DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for the embedded database)",
    }),
  PGLITE_DATA_DIR: z.string().trim().min(1).optional(),
  PRISMA_SCHEMA_ENGINE_BINARY: z.string().optional(),
  PG_ADMIN_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "PG_ADMIN_URL must be a postgres:// or postgresql:// URL")
    .default("postgresql://postgres@127.0.0.1:5432/postgres"),
});

export interface DbEnv {
  /** Raw NODE_ENV: use runtimeMode() (runtime-mode.ts) for what it means. */
  nodeEnv: string | undefined;
  databaseUrl: string | undefined;
  pgliteDataDir: string;
  /** Path to Prisma's native schema engine, when one is installed outside node_modules. */
  prismaSchemaEngineBinary: string | undefined;
  /** Server the test suites create their throw-away databases on. */
  pgAdminUrl: string;
}

let cached: DbEnv | undefined;

export function dbEnv(): DbEnv {
  if (cached) return cached;
  loadRootEnvFile();
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    // Name the variable, never echo its value: a URL may carry a password.
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid database configuration: ${problems}`);
  }
  cached = {
    nodeEnv: parsed.data.NODE_ENV,
    databaseUrl: parsed.data.DATABASE_URL,
    pgliteDataDir: parsed.data.PGLITE_DATA_DIR ? resolve(/*turbopackIgnore: true*/ repoRoot(), parsed.data.PGLITE_DATA_DIR) : resolve(/*turbopackIgnore: true*/ repoRoot(), ".data/pglite"),
    prismaSchemaEngineBinary: parsed.data.PRISMA_SCHEMA_ENGINE_BINARY,
    pgAdminUrl: parsed.data.PG_ADMIN_URL,
  };
  return cached;
}

/**
 * Forgets the parsed environment, so the next dbEnv() reads process.env again. For tests that
 * need another environment in the same process; a child process with its own env is better.
 */
export function resetDbEnvCacheForTests(): void {
  cached = undefined;
}
