import pino, { type DestinationStream } from "pino";
import type { Logger } from "./logger";

/**
 * Field names whose values are censored wherever they appear (top level or one level down):
 * callers never pass secrets, and this keeps a slip from reaching the log all the same.
 */
export const REDACTED_FIELDS = [
  "accessToken",
  "refreshToken",
  "access_token",
  "refresh_token",
  "id_token",
  "idToken",
  "client_secret",
  "clientSecret",
  "authorization",
  "Authorization",
  "cookie",
  "Cookie",
  "password",
  "secret",
  "token",
  "ciphertext",
];

const redactPaths = REDACTED_FIELDS.flatMap((field) => [field, `*.${field}`]);

/**
 * JSON lines through pino (one object per line: level, time, msg and the fields), secret-looking
 * fields censored. `destination`: where lines go (default stdout; tests pass a captured stream).
 */
export function pinoLogger(options: { destination?: DestinationStream; level?: string; name?: string } = {}): Logger {
  const base = pino(
    {
      name: options.name ?? "tokenvault",
      level: options.level ?? "info",
      redact: { paths: redactPaths, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return {
    info: (message, fields) => base.info(fields ?? {}, message),
    warn: (message, fields) => base.warn(fields ?? {}, message),
    error: (message, fields) => base.error(fields ?? {}, message),
  };
}
