import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";
import { envSource, optionalText } from "./env-reader";

/**
 * The vault key's variables, declared once for @tokenvault/token and @tokenvault/store (both
 * spread them into their schema): trimmed, blank is unset.
 */
export const vaultKeyVariables = {
  TOKEN_ENCRYPTION_KEY: optionalText,
  // The name in the design documents' setup guide: an alias, TOKEN_ENCRYPTION_KEY wins.
  ENCRYPTION_KEY: optionalText,
  // Comma-separated keys that still decrypt (rotation).
  TOKEN_ENCRYPTION_KEYS_PREVIOUS: optionalText,
};

/**
 * The variables every package derives its defaults from (runtime-mode.ts). The base of every
 * package's env.ts (`extends`). Read once, on first use.
 */
function readKitEnv() {
  return createEnv({
    server: {
      // Read as given; runtime-mode.ts decides what it means (anything but development/test is production).
      NODE_ENV: z.string().optional(),
      // Only whether it is set matters here; @tokenvault/db checks that it is a postgres:// URL.
      DATABASE_URL: optionalText,
    },
    ...envSource("runtime"),
  });
}

export type KitEnv = ReturnType<typeof readKitEnv>;

let cached: KitEnv | undefined;

export function kitEnv(): KitEnv {
  cached ??= readKitEnv();
  return cached;
}

/**
 * The background worker's schedule, read here once for the worker and the token service (the
 * dashboard's next refresh), so both see the same values: the refresh-ahead window and the idle
 * lifetime of a refresh token nobody documents. Unset: the token package's DEFAULT_REFRESH_SCHEDULE.
 * A package's env.ts `extends` it.
 */
function readRefreshScheduleEnv() {
  return createEnv({
    server: {
      WORKER_REFRESH_AHEAD_SECONDS: z.coerce.number().int().min(0).max(86_400).optional(),
      WORKER_GENERIC_IDLE_DAYS: z.coerce.number().int().min(1).max(3650).optional(),
    },
    ...envSource("refresh schedule"),
  });
}

export type RefreshScheduleEnv = ReturnType<typeof readRefreshScheduleEnv>;

let cachedSchedule: RefreshScheduleEnv | undefined;

export function refreshScheduleEnv(): RefreshScheduleEnv {
  cachedSchedule ??= readRefreshScheduleEnv();
  return cachedSchedule;
}

/** Forgets the parsed environment, so the next kitEnv() and refreshScheduleEnv() read process.env again (tests only). */
export function resetKitEnvCacheForTests(): void {
  cached = undefined;
  cachedSchedule = undefined;
}
