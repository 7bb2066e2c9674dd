import { resolve } from "node:path";
import { createEnv } from "@t3-oss/env-core";
import { blankIsUnset, envSource, kitEnv, optionalText, resetKitEnvCacheForTests } from "@tokenvault/kit";
import { z } from "zod";
import { repoRoot } from "./paths";
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

/** The only place this package reads the environment: on the kit's (NODE_ENV, DATABASE_URL). */
function readEnv() {
  return createEnv({
    extends: [kitEnv()],
    server: {
      DATABASE_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
        message: "DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for the embedded database)",
      }),
      PGLITE_DATA_DIR: optionalText,
      PRISMA_SCHEMA_ENGINE_BINARY: z.string().optional(),
      DATABASE_CONNECT_TIMEOUT_MS: millis(5_000, "DATABASE_CONNECT_TIMEOUT_MS"),
      DATABASE_QUERY_TIMEOUT_MS: millis(10_000, "DATABASE_QUERY_TIMEOUT_MS"),
      DATABASE_POOL_SIZE: blankIsUnset(z.coerce.number().int("DATABASE_POOL_SIZE must be a whole number").min(1, "DATABASE_POOL_SIZE must be at least 1").max(500, "DATABASE_POOL_SIZE must be at most 500").default(10)),
      PG_ADMIN_URL: blankIsUnset(
        z
          .string()
          .regex(/^postgres(ql)?:\/\//, "PG_ADMIN_URL must be a postgres:// or postgresql:// URL")
          .default("postgresql://postgres@127.0.0.1:5432/postgres"),
      ),
    },
    // A URL may carry a password: the kit's error names the variable, never its value.
    ...envSource("database"),
  });
}

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
  const env = readEnv();
  cached = {
    nodeEnv: env.NODE_ENV,
    databaseUrl: env.DATABASE_URL,
    pgliteDataDir: env.PGLITE_DATA_DIR ? resolve(/*turbopackIgnore: true*/ repoRoot(), env.PGLITE_DATA_DIR) : resolve(/*turbopackIgnore: true*/ repoRoot(), ".data/pglite"),
    prismaSchemaEngineBinary: env.PRISMA_SCHEMA_ENGINE_BINARY,
    pgAdminUrl: env.PG_ADMIN_URL,
    pool: { connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS, queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS, max: env.DATABASE_POOL_SIZE },
  };
  return cached;
}

/**
 * Forgets the parsed environment, so the next dbEnv() reads process.env again. For tests that
 * need another environment in the same process; a child process with its own env is better.
 */
export function resetDbEnvCacheForTests(): void {
  cached = undefined;
  resetKitEnvCacheForTests();
}
