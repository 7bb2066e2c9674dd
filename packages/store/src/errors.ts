export const STORAGE_ERROR_CODES = ["UNAVAILABLE", "TIMEOUT", "CORRUPT", "INVALID_INPUT", "CONFIGURATION", "CONFLICT", "CAPACITY"] as const;
export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

export type StorageOperation = "store" | "get" | "getById" | "delete" | "list" | "revoke" | "isRevoked" | "cleanup" | "close" | "connect" | "lock";

/**
 * Every failure of a token store. `key` is the hashed key the operation touched, never a token
 * or a subject; `detail` says what went wrong in words safe to log; `cause` is the backend's
 * own error, for operators (its message is not repeated here: it may quote what it was given).
 */
export class StorageError extends Error {
  override readonly name = "StorageError";

  constructor(
    readonly op: StorageOperation,
    readonly code: StorageErrorCode,
    readonly detail: string,
    readonly key: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(`token store ${op} failed (${code}): ${detail}`, options);
  }
}

/** Maps a backend error to a StorageError: timeouts and lost connections apart from the rest. */
export function toStorageError(op: StorageOperation, key: string | null, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  // node-redis's errors keep the name "Error": their class says what happened (its TimeoutError has no message).
  const kind = error instanceof Error ? (error.constructor.name !== "Error" ? error.constructor.name : error.name) : typeof error;
  const text = error instanceof Error ? `${kind} ${error.name} ${error.message}` : String(error);
  if (/timeout|timed out|TimeoutError|AbortError/i.test(text)) return new StorageError(op, "TIMEOUT", "the backend did not answer in time", key, { cause: error });
  if (/ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|socket|closed|connect|fetch failed|network|ClientClosedError|DisconnectsClientError|offline/i.test(text)) {
    return new StorageError(op, "UNAVAILABLE", "the backend cannot be reached", key, { cause: error });
  }
  return new StorageError(op, "UNAVAILABLE", `the backend failed (${kind})`, key, { cause: error });
}

/**
 * True for a store outage (UNAVAILABLE or TIMEOUT). Recognised by name and code as well as by
 * class: a bundler may load this package more than once in one process (Next does, for pages and
 * for route handlers), and an error from one copy is no instance of the other copy's class.
 */
export function isStoreUnavailable(error: unknown): error is StorageError {
  const named = error instanceof StorageError || (error instanceof Error && error.name === "StorageError");
  const code = named ? (error as { code?: unknown }).code : undefined;
  return code === "UNAVAILABLE" || code === "TIMEOUT";
}
