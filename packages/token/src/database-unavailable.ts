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
