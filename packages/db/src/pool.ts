import pg from "pg";

/** Bounds on every PostgreSQL call, so an unreachable or silent database fails a request instead of hanging it. */
export interface PoolSettings {
  /** Longest wait for a connection: opening one, or a free one when all `max` are busy (DATABASE_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** Longest a statement runs: the server cancels it then, and the client gives up one second later (DATABASE_QUERY_TIMEOUT_MS). */
  queryTimeoutMs: number;
  /** Connections per process (DATABASE_POOL_SIZE). */
  max: number;
}

/** How PostgreSQL lists this service's connections (pg_stat_activity.application_name). */
export const APPLICATION_NAME = "tokenvault";

/** Client-side margin past the server's statement_timeout: the server cancels first when it can. */
const CLIENT_GRACE_MS = 1_000;

/**
 * The pg pool Prisma's driver adapter runs on, with the timeouts set. A query that times out on
 * the client destroys its connection (pg's pool.query releases it with the error); inside a
 * transaction, the server ends the session once it idles past the same bound.
 */
export function createPool(connectionString: string, settings: PoolSettings, applicationName = APPLICATION_NAME): pg.Pool {
  return new pg.Pool({
    connectionString,
    max: settings.max,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.queryTimeoutMs,
    query_timeout: settings.queryTimeoutMs + CLIENT_GRACE_MS,
    // A transaction left open by a vanished client does not hold its row locks for long.
    idle_in_transaction_session_timeout: settings.queryTimeoutMs + CLIENT_GRACE_MS,
    application_name: applicationName,
    keepAlive: true,
  });
}

/** Error codes (Prisma's and pg's) and messages that mean "the database cannot be reached or did not answer in time". */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]);
/** Server codes: connection failures (08xxx), admin shutdown / terminated (57P01-57P03), statement timeout (57014), too many connections (53300). */
const SERVER_CODES = /^(08|57P0[123]$|57014$|53300$)/;
const MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Query read timeout",
  "timeout expired",
  "Client has encountered a connection error",
  "Connection closed",
  "Can't reach database server",
  "Server has closed the connection",
  "Unable to start a transaction in the given time",
  "cannot be executed on an expired transaction",
  "canceling statement due to statement timeout",
  "terminating connection due to administrator command",
];

/**
 * True when an error from the database layer means it is unreachable, dropped the connection or
 * did not answer in time (as opposed to a constraint or a bad query): the caller should fail
 * with "unavailable, try again" and the next call may well succeed.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Object && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const { code, name, message } = current as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === "string" && (PRISMA_CODES.has(code) || SOCKET_CODES.has(code) || SERVER_CODES.test(code))) return true;
    const kind = (current as { kind?: unknown }).kind;
    if (kind === "DatabaseNotReachable" || kind === "ConnectionClosed" || kind === "SocketTimeout" || kind === "TooManyConnections") return true;
    if (name === "PrismaClientInitializationError") return true;
    if (typeof message === "string" && MESSAGES.some((text) => message.includes(text))) return true;
  }
  return false;
}
