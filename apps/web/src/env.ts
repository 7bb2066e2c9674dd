import { randomBytes } from "node:crypto";
import { z } from "zod";
import { dbEnv, loadOrCreateDevSecret, loadRootEnvFile } from "@tokenvault/db";

/** The only place apps/web reads process.env. */
const schema = z.object({
  NODE_ENV: z.string().optional(),
  SESSION_SECRET: z.string().optional(),
  TOKENVAULT_DEMO_USERS: z.enum(["0", "1"]).optional(),
  SESSION_COOKIE_SECURE: z.enum(["0", "1"]).optional(),
});

export interface WebEnv {
  production: boolean;
  /** `next dev` or the test runner: the only modes with development defaults. */
  development: boolean;
  /** Iron-session password: at least 32 characters. */
  sessionSecret: string;
  /** Seeded local users (two companies, an admin and a member each) can sign in. Default: in development. */
  demoUsers: boolean;
  /** Session cookie only over HTTPS. Default: everywhere but development. */
  cookieSecure: boolean;
}

let cached: WebEnv | undefined;

export function webEnv(): WebEnv {
  if (cached) return cached;
  loadRootEnvFile();
  const env = schema.parse(process.env);
  const production = env.NODE_ENV === "production";
  // Development defaults only where NODE_ENV says so: a deployment with NODE_ENV=staging (or
  // unset) gets the production ones, not demo users with a published password.
  const development = env.NODE_ENV === "development" || env.NODE_ENV === "test";
  let secret = env.SESSION_SECRET?.trim();
  // In development on the embedded database, a session secret is generated once into .data/.
  if (!secret && development && !dbEnv().databaseUrl) secret = loadOrCreateDevSecret("dev-session-secret", () => randomBytes(32).toString("base64url"));
  if (!secret) throw new Error("SESSION_SECRET is not set: it signs session cookies and needs at least 32 characters.");
  if (secret.length < 32) throw new Error("SESSION_SECRET is too short: it needs at least 32 characters.");
  cached = {
    production,
    development,
    sessionSecret: secret,
    demoUsers: env.TOKENVAULT_DEMO_USERS ? env.TOKENVAULT_DEMO_USERS === "1" : development,
    cookieSecure: env.SESSION_COOKIE_SECURE ? env.SESSION_COOKIE_SECURE === "1" : !development,
  };
  return cached;
}
