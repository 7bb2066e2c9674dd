import { resolve } from "node:path";
import { z } from "zod";
import { loadRootEnvFile, repoRoot } from "./paths";
import type { PoolSettings } from "./pool";

/** A positive duration in milliseconds, from 100 ms to 10 minutes. */
function millis(fallback: number, name: string) {
  return blankIsUnset(
    z.coerce
      .number()
      .int(`${name} must be a whole number of milliseconds`)
      .min(100, `${name} must be at least 100 (ms)`)
      .max(600_000, `${name} must be at most 600000 (ms)`)
      .default(fallback),
  );
}

/** `NAME=` in a .env file means "use the default", not zero. */
function blankIsUnset<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), schema);
}

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
  DATABASE_CONNECT_TIMEOUT_MS: millis(5_000, "DATABASE_CONNECT_TIMEOUT_MS"),
  DATABASE_QUERY_TIMEOUT_MS: millis(10_000, "DATABASE_QUERY_TIMEOUT_MS"),
  DATABASE_POOL_SIZE: blankIsUnset(z.coerce.number().int("DATABASE_POOL_SIZE must be a whole number").min(1, "DATABASE_POOL_SIZE must be at least 1").max(500, "DATABASE_POOL_SIZE must be at most 500").default(10)),
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
  /** Bounds on every PostgreSQL call (see pool.ts). */
  pool: PoolSettings;
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
    pool: { connectTimeoutMs: parsed.data.DATABASE_CONNECT_TIMEOUT_MS, queryTimeoutMs: parsed.data.DATABASE_QUERY_TIMEOUT_MS, max: parsed.data.DATABASE_POOL_SIZE },
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
