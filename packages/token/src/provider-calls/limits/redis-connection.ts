// The node-redis client of the default service's shared limits (PROVIDER_CALL_LIMITS=redis), built
// as the token store builds its own (packages/store/src/backends/redis-connection.ts): bounded
// connect and command timeouts, no offline queue (a call while Redis is away fails at once instead
// of waiting), and a capped, jittered reconnect that never gives up, so the client recovers by itself.
import { createClient } from "redis";

const CONNECT_TIMEOUT_MS = 250;
// A slot script is one round trip; a second covers a busy server without letting a call hang.
const COMMAND_TIMEOUT_MS = 1_000;
const FIRST_CONNECTION_MS = 2_000;

/** Capped exponential backoff with up to 20 % jitter (as the store's reconnectDelay), so a fleet does not reconnect in step. */
function reconnectDelay(retries: number): number {
  const delay = Math.min(2_000, 50 * 2 ** Math.min(retries, 30));
  return Math.round(delay * (0.8 + 0.2 * Math.random()));
}

/** The URL's host and port, never its credentials (what a log may show). */
function endpointOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "redis";
  }
}

/**
 * Connecting, with the first connection awaited at most FIRST_CONNECTION_MS: an unreachable Redis
 * at start-up is logged and the client keeps reconnecting, but the service is still built, since
 * tokens never depend on it (only tokenService.fetch's limits do, and they fail at once while it
 * is away). Closed by the slot store.
 */
export async function connectLimitsRedis(url: string, log: (message: string) => void = (message) => console.warn(message)) {
  const client = createClient({
    url,
    name: "tokenvault-provider-limits",
    disableOfflineQueue: true,
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelay },
  });
  // An 'error' event nobody listens to crashes the process; one line per outage, not per attempt.
  let failing = false;
  client.on("error", (error: unknown) => {
    if (failing) return;
    failing = true;
    log(`provider call limits: Redis at ${endpointOf(url)} unreachable (${error instanceof Error ? error.constructor.name : typeof error}); reconnecting`);
  });
  client.on("ready", () => {
    if (failing) log(`provider call limits: Redis at ${endpointOf(url)} reachable again`);
    failing = false;
  });
  let timer: NodeJS.Timeout | undefined;
  const connecting = client.connect();
  try {
    await Promise.race([connecting, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no connection within ${FIRST_CONNECTION_MS} ms`)), FIRST_CONNECTION_MS)))]);
  } catch {
    connecting.catch(() => {}); // the reconnect strategy goes on; 'ready' logs its return
    log(`provider call limits: Redis at ${endpointOf(url)} not reachable at start-up (REDIS_URL, PROVIDER_CALL_LIMITS=redis); provider calls fail until it is`);
  } finally {
    clearTimeout(timer);
  }
  return client;
}
