import { createEnv } from "@t3-oss/env-core";
import { resetDbEnvCacheForTests } from "@tokenvault/db";
import { developmentSessionSecret, envSource, kitEnv, optionalHttpUrl, optionalText, runtimeMode } from "@tokenvault/kit";
import { KeyConfigError } from "@tokenvault/vault";
import { z } from "zod";
import { DEFAULT_API_CALLS_PER_MINUTE, DEFAULT_API_KEY_CHANGES_PER_MINUTE, DEFAULT_MAX_REQUEST_BODY_BYTES, parseTrustedProxies, type RequestLimitsConfig, type TrustedProxies } from "./settings";

/** The only place apps/web reads the environment, on the kit's (runtime mode). */
function readEnv() {
  return createEnv({
    extends: [kitEnv()],
    server: {
      SESSION_SECRET: optionalText,
      TOKENVAULT_DEMO_USERS: z.enum(["0", "1"]).optional(),
      SESSION_COOKIE_SECURE: z.enum(["0", "1"]).optional(),
      TRUSTED_PROXIES: z.string().optional(),
      // Where users reach the app (also read by the token package for redirect URIs): the Origin its own pages send.
      APP_URL: optionalHttpUrl,
      HEALTH_TOKEN: z.string().trim().min(24, "must be at least 24 characters").optional(),
      METRICS_TOKEN: z.string().trim().min(24, "must be at least 24 characters").optional(),
      // How long a session validated against Redis/Upstash keeps working from this process's cache during an outage.
      SESSION_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
      // 1 KB to 100 MB: below, a tRPC batch would not fit; above, it is no limit.
      MAX_REQUEST_BODY_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(DEFAULT_MAX_REQUEST_BODY_BYTES),
      RATE_LIMIT_CHECKS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
      RATE_LIMIT_CONNECTS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(10),
      RATE_LIMIT_WEBHOOK_CHANGES_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(20),
      RATE_LIMIT_API_KEY_CHANGES_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_API_KEY_CHANGES_PER_MINUTE),
      RATE_LIMIT_API_CALLS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_API_CALLS_PER_MINUTE),
    },
    ...envSource("web", KeyConfigError.fromEnv),
  });
}

export interface WebEnv {
  /** `next dev` or the test runner (runtimeMode().development): the only modes with development defaults. */
  development: boolean;
  /** Seals the session cookie's reference (SESSION_SECRET): at least 32 characters. */
  sessionSecret: string;
  /** Seeded local users (two companies, an admin and a member each) can sign in. Default: in development. */
  demoUsers: boolean;
  /** Session cookie only over HTTPS. Default: everywhere but development. */
  cookieSecure: boolean;
  /** APP_URL's origin: the Origin this app's own pages send, whatever Host a proxy forwards. Null when unset. */
  publicOrigin: string | null;
  /** Which X-Forwarded-For entries audit rows believe (TRUSTED_PROXIES). Default: none, so no address is recorded. */
  trustedProxies: TrustedProxies;
  /** Largest request body a procedure or route handler accepts (MAX_REQUEST_BODY_BYTES); larger ones answer 413. */
  maxRequestBodyBytes: number;
  /** Through a Redis or Upstash outage, a session validated this recently keeps working (SESSION_CACHE_SECONDS, default 30 s). */
  sessionCacheMs: number;
  /** Bearer token a monitor presents to /api/health (HEALTH_TOKEN). Default: none, only an admin's session. */
  healthToken: string | null;
  /** Bearer token a Prometheus scraper presents to /api/metrics (METRICS_TOKEN). Default: none, and /api/metrics answers 404. */
  metricsToken: string | null;
  /** Per-user limits of checks and connects; counters where sessions live (limiter-factory.ts). */
  requestLimits: RequestLimitsConfig;
}

let cached: WebEnv | undefined;

export function webEnv(): WebEnv {
  if (cached) return cached;
  const env = readEnv();
  // NODE_ENV unset or unknown is production (runtime-mode.ts): a deployment that forgot it gets
  // no demo users with a published password and secure cookies.
  const mode = runtimeMode();
  // In development or test on the embedded database, a session secret is generated once into .data/.
  const secret = env.SESSION_SECRET ?? developmentSessionSecret();
  if (!secret) throw new KeyConfigError("SESSION_SECRET", "is not set: it signs session cookies and needs at least 32 characters.");
  if (secret.length < 32) throw new KeyConfigError("SESSION_SECRET", "is too short: it needs at least 32 characters.");
  const trustedProxies = parseTrustedProxies(env.TRUSTED_PROXIES);
  cached = {
    development: mode.development,
    sessionSecret: secret,
    demoUsers: env.TOKENVAULT_DEMO_USERS ? env.TOKENVAULT_DEMO_USERS === "1" : mode.development,
    cookieSecure: env.SESSION_COOKIE_SECURE ? env.SESSION_COOKIE_SECURE === "1" : !mode.development,
    publicOrigin: env.APP_URL ? new URL(env.APP_URL).origin : null,
    trustedProxies,
    maxRequestBodyBytes: env.MAX_REQUEST_BODY_BYTES,
    healthToken: env.HEALTH_TOKEN ?? null,
    metricsToken: env.METRICS_TOKEN ?? null,
    requestLimits: { checksPerMinute: env.RATE_LIMIT_CHECKS_PER_MINUTE, connectsPerMinute: env.RATE_LIMIT_CONNECTS_PER_MINUTE, webhookChangesPerMinute: env.RATE_LIMIT_WEBHOOK_CHANGES_PER_MINUTE,
      apiKeyChangesPerMinute: env.RATE_LIMIT_API_KEY_CHANGES_PER_MINUTE,
      apiCallsPerMinute: env.RATE_LIMIT_API_CALLS_PER_MINUTE,
    },
    sessionCacheMs: env.SESSION_CACHE_SECONDS * 1000,
  };
  return cached;
}

/**
 * Forgets the parsed environment here and in @tokenvault/db, so the next webEnv() reads
 * process.env again. For tests that need another environment in the same process (prefer a child process).
 */
export function resetWebEnvCacheForTests(): void {
  cached = undefined;
  resetDbEnvCacheForTests();
}
