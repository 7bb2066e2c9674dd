import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { dbEnv } from "./env";
import { PrismaClient } from "./generated/prisma/client";
import { applyMigrations, type SqlExecutor } from "./migrate";
import { createPool, type PoolSettings } from "./pool";

export interface DatabaseOptions {
  /** A postgres:// URL; without one the embedded PGlite database is used. */
  databaseUrl?: string | undefined;
  /** Where the embedded database keeps its files; "memory://" for a throw-away one. */
  pgliteDataDir?: string;
  /** Timeouts and size of the PostgreSQL pool; each unset one from the environment (dbEnv().pool). */
  pool?: Partial<PoolSettings>;
}

export interface Database {
  prisma: PrismaClient;
  kind: "postgres" | "embedded";
  /** The embedded database itself (kind "embedded"), for what must share its one connection (the dev worker's job queue). */
  pglite?: PGlite;
  close(): Promise<void>;
}

/**
 * Opens the database. With a URL it talks to PostgreSQL through `@prisma/adapter-pg`;
 * migrations there are applied by `pnpm db:migrate`, a deliberate deploy step. Without one it
 * opens the embedded PGlite database and migrates it on the spot, so a fresh clone just runs.
 */
export async function openDatabase(options: DatabaseOptions = defaultOptions()): Promise<Database> {
  if (options.databaseUrl) {
    const pool = createPool(options.databaseUrl, { ...dbEnv().pool, ...options.pool });
    // An idle connection the server dropped is removed from the pool by pg; nothing to do but not crash.
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true, onPoolError: () => {}, onConnectionError: () => {} }) });
    return {
      prisma,
      kind: "postgres",
      close: async () => {
        await prisma.$disconnect();
        if (!pool.ended) await pool.end();
      },
    };
  }

  const dataDir = options.pgliteDataDir ?? dbEnv().pgliteDataDir;
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  await applyMigrations(pgliteExecutor(pglite));
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    prisma,
    kind: "embedded",
    pglite,
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}

function defaultOptions(): DatabaseOptions {
  const env = dbEnv();
  return { databaseUrl: env.databaseUrl, pgliteDataDir: env.pgliteDataDir };
}

export function pgliteExecutor(pglite: PGlite): SqlExecutor {
  return {
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await pglite.query<T>(sql, params)).rows }),
    exec: (sql) => pglite.exec(sql),
  };
}

export function pgExecutor(client: pg.ClientBase): SqlExecutor {
  return {
    query: async <T>(sql: string, params?: unknown[]) => ({
      rows: (await client.query(sql, params)).rows as T[],
    }),
    exec: (sql) => client.query(sql),
  };
}

/** Runs `fn` with one dedicated connection (advisory locks are per session). */
export async function withPgClient<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
