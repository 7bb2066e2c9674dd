import { isDatabaseUnavailable } from "@tokenvault/db";
import { TokenError } from "@tokenvault/vault";

/**
 * The database could not be reached or did not answer within its timeouts (DATABASE_* settings
 * in @tokenvault/db). Fails the call closed: no token is served without the database. The
 * driver's error is not attached: Prisma's messages can quote the statement and its values.
 */
export function databaseUnavailable(): TokenError {
  return new TokenError("VAULT_UNAVAILABLE", "The token database is not answering. Try again shortly.");
}

/** Runs `call`; a database outage becomes VAULT_UNAVAILABLE, every other error passes unchanged. */
export async function failClosedOnDatabase<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof TokenError) && isDatabaseUnavailable(error)) throw databaseUnavailable();
    throw error;
  }
}

type AsyncMethodOf<T> = { [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof T];

/**
 * The named async methods of `target`, each failing closed as failClosedOnDatabase does: how the
 * service hands out a store (the worker's upkeep columns, the webhook log) without its raw
 * database errors.
 */
export function failClosedMethods<T extends object, K extends AsyncMethodOf<T>>(target: T, names: readonly K[]): Pick<T, K> {
  const methods = {} as Pick<T, K>;
  for (const name of names) {
    const method = target[name] as (...args: unknown[]) => Promise<unknown>;
    (methods as Record<K, unknown>)[name] = (...args: unknown[]) => failClosedOnDatabase(() => method.apply(target, args));
  }
  return methods;
}
