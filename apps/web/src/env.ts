import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { dbEnv, loadRootEnvFile, repoRoot } from "@tokenvault/db";

/** The only place apps/web reads process.env. */
const schema = z.object({
  NODE_ENV: z.string().optional(),
  SESSION_SECRET: z.string().optional(),
  TOKENVAULT_DEMO_USERS: z.enum(["0", "1"]).optional(),
  SESSION_COOKIE_SECURE: z.enum(["0", "1"]).optional(),
});

export interface WebEnv {
  production: boolean;
  /** Iron-session password: at least 32 characters. */
  sessionSecret: string;
  /** Seeded local users (two companies, an admin and a member each) can sign in. */
  demoUsers: boolean;
  /** Session cookie only over HTTPS. Default: in production. */
  cookieSecure: boolean;
}

let cached: WebEnv | undefined;

export function webEnv(): WebEnv {
  if (cached) return cached;
  loadRootEnvFile();
  const env = schema.parse(process.env);
  const production = env.NODE_ENV === "production";
  let secret = env.SESSION_SECRET?.trim();
  if (!secret && !production && !dbEnv().databaseUrl) secret = devSessionSecret();
  if (!secret) throw new Error("SESSION_SECRET is not set: it signs session cookies and needs at least 32 characters.");
  if (secret.length < 32) throw new Error("SESSION_SECRET is too short: it needs at least 32 characters.");
  cached = { production, sessionSecret: secret, demoUsers: env.TOKENVAULT_DEMO_USERS ? env.TOKENVAULT_DEMO_USERS === "1" : !production,
    cookieSecure: env.SESSION_COOKIE_SECURE ? env.SESSION_COOKIE_SECURE === "1" : production,
  };
  return cached;
}

/** Outside production on the embedded database, a session secret is generated once into .data/. */
function devSessionSecret(): string {
  const file = join(repoRoot(), ".data", "dev-session-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  return secret;
}
