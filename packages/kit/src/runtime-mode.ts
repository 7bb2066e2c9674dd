import { kitEnv } from "./env";

export type RuntimeModeName = "development" | "test" | "production";
export type DatabaseKind = "embedded" | "server";

/** How this process runs: the one definition every package's env.ts derives its defaults from. */
export interface RuntimeMode {
  /** NODE_ENV `development` (`next dev`) or `test` (vitest); any other value, or none, is production. */
  readonly mode: RuntimeModeName;
  /** Development or test: the only modes with conveniences (provider simulator, demo users, plain-HTTP cookies). */
  readonly development: boolean;
  /** Not development or test. Fail safe: a deployment that forgot NODE_ENV gets production defaults. */
  readonly production: boolean;
  /** embedded: PGlite under .data/ (DATABASE_URL unset); server: the PostgreSQL at DATABASE_URL. */
  readonly database: DatabaseKind;
  /**
   * Development or test on the embedded database: a missing vault key or session secret is
   * generated once into .data/ (loadOrCreateDevSecret). A fresh clone's convenience, never a server's.
   */
  readonly devSecrets: boolean;
}

/** The runtime mode for a NODE_ENV value and a DATABASE_URL (both as read from the environment). */
export function runtimeModeOf(nodeEnv: string | undefined, databaseUrl: string | undefined): RuntimeMode {
  const mode: RuntimeModeName = nodeEnv === "development" || nodeEnv === "test" ? nodeEnv : "production";
  const development = mode !== "production";
  const database: DatabaseKind = databaseUrl ? "server" : "embedded";
  return { mode, development, production: !development, database, devSecrets: development && database === "embedded" };
}

/** This process's runtime mode, from the environment read once by kitEnv(). */
export function runtimeMode(): RuntimeMode {
  const env = kitEnv();
  return runtimeModeOf(env.NODE_ENV, env.DATABASE_URL);
}
