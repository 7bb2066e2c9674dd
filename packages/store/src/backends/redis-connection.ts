// A node-redis connection for the token store that fails in bounded time while Redis is away and
// recovers by itself when it returns: no call hangs, no call waits in a queue for a server that is
// gone, and the process neither crashes on the client's 'error' event nor has to recreate the store.
import type { RedisClientOptions } from "redis";
import { toStorageError } from "../errors";
import { nodeRedisScripts, type NodeRedisLike, type ScriptClient } from "./clients";
import { warnWithoutPersistence } from "./redis-persistence";
import { RedisTokenStore, type RedisTokenStoreOptions } from "./redis-store";

export interface RedisConnectionOptions {
  /** Longest a TCP connect (first or reconnect) may take. Default 250 ms. */
  connectTimeoutMs?: number;
  /** Longest one Redis command may take, whether still queued or already written. Default 250 ms. */
  commandTimeoutMs?: number;
  /** First reconnect delay, doubled per failed attempt. Default 50 ms. */
  minReconnectDelayMs?: number;
  /** Cap on the reconnect delay. Default 2,000 ms. */
  maxReconnectDelayMs?: number;
  /** Where connection loss and recovery are reported; never given the URL's credentials. Default console.warn. */
  log?: (message: string) => void;
  /** false: return at once, calls fail with UNAVAILABLE until the first connection. Default true (fail instead). */
  awaitConnection?: boolean;
}

/** What the store needs of a node-redis client beyond commands: events, connect and teardown. */
interface ConnectableClient extends NodeRedisLike {
  on(event: "error", listener: (error: unknown) => void): unknown;
  on(event: "ready", listener: () => void): unknown;
  sendCommand(args: string[]): Promise<unknown>;
  off(event: "error", listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
}

/** Capped exponential backoff with up to 20 % jitter, so a fleet does not reconnect in step. */
export function reconnectDelay(retries: number, minMs = 50, maxMs = 2_000): number {
  const delay = Math.min(maxMs, minMs * 2 ** Math.min(retries, 30));
  return Math.round(delay * (0.8 + 0.2 * Math.random()));
}

/**
 * The node-redis options behind the bounded failure: connect and command timeouts, a reconnect
 * strategy that never gives up (so the client recovers by itself), and no offline queue (a command
 * issued while disconnected fails at once with ClientOfflineError instead of waiting for a reconnect).
 */
export function redisClientOptions(url: string, options: RedisConnectionOptions = {}): RedisClientOptions {
  const min = options.minReconnectDelayMs ?? 50;
  const max = options.maxReconnectDelayMs ?? 2_000;
  return {
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs ?? 250 },
    socket: { connectTimeout: options.connectTimeoutMs ?? 250, reconnectStrategy: (retries: number) => reconnectDelay(retries, min, max) },
  };
}

/** `promise`, or a CommandDeadlineError after `ms`. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandDeadlineError(ms)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The error a command deadline raises; toStorageError maps it to TIMEOUT by its name. */
export class CommandDeadlineError extends Error {
  override readonly name = "TimeoutError";
  constructor(ms: number) {
    super(`no reply within ${ms} ms`);
  }
}

/**
 * Bounds every script call. node-redis's own command timeout only covers a command waiting to be
 * written: one already written to a server that stopped answering (frozen, or a network that drops
 * packets) waits until TCP gives up, minutes later. The late reply, if any, is discarded.
 */
export function withCommandDeadline(client: ScriptClient, ms: number): ScriptClient {
  const bounded = <T>(call: () => Promise<T>) => within(ms, call());
  return {
    evalSha: (sha, keys, args) => bounded(() => client.evalSha(sha, keys, args)),
    eval: (script, keys, args) => bounded(() => client.eval(script, keys, args)),
    hmget: client.hmget && ((key, fields) => bounded(() => client.hmget!(key, fields))),
    close: client.close && (() => client.close!()),
  };
}

/** host:port of a Redis URL, without the user name and password it may carry. */
export function redisEndpoint(url: string): string {
  try {
    return new URL(url).host || "redis";
  } catch {
    return "redis";
  }
}

/** What is safe to log of a connection error: its class and errno code, never its message. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  return `${error.constructor.name}${typeof code === "string" ? ` ${code}` : ""}`;
}

/**
 * Listens for the client's 'error' events (node-redis emits one per failed reconnect attempt, and
 * an 'error' event nobody listens to crashes the process). Logs the first of an outage and the
 * recovery, not every attempt.
 */
export function watchRedisClient(client: Pick<ConnectableClient, "on">, endpoint: string, log: (message: string) => void): void {
  let failing = false;
  let attempts = 0;
  client.on("error", (error) => {
    attempts++;
    if (failing) return;
    failing = true;
    log(`token store: Redis at ${endpoint} unreachable (${describe(error)}); reconnecting`);
  });
  client.on("ready", () => {
    if (failing) log(`token store: Redis at ${endpoint} reachable again after ${attempts} failed attempt(s)`);
    failing = false;
    attempts = 0;
  });
}

/** Waits for the first connection, at most about `ms`; on failure the client is destroyed. */
async function firstConnection(client: ConnectableClient, ms: number): Promise<void> {
  const connecting = client.connect();
  let onError: (error: unknown) => void = () => {};
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onError = reject;
      client.on("error", onError);
      timer = setTimeout(() => reject(new CommandDeadlineError(ms)), ms);
      connecting.then(() => resolve(), reject);
    });
  } catch (error) {
    connecting.catch(() => {}); // rejects with ClientClosedError once destroyed
    client.destroy();
    throw toStorageError("connect", null, error);
  } finally {
    client.off("error", onError);
    clearTimeout(timer);
  }
}

/**
 * A Redis token store on its own node-redis client, with bounded failure (see RedisConnectionOptions):
 * while Redis is away every call fails within about the command timeout with StorageError
 * UNAVAILABLE (or TIMEOUT), and calls succeed again once the client has reconnected. `close()`
 * closes the client. `redis` (node-redis 6) must be installed; it is loaded only when called.
 */
export async function connectRedisTokenStore(url: string, options: RedisConnectionOptions & RedisTokenStoreOptions = {}): Promise<RedisTokenStore> {
  const { createClient } = await import("redis");
  const client = createClient(redisClientOptions(url, options)) as unknown as ConnectableClient;
  const log = options.log ?? ((message: string) => console.warn(message));
  watchRedisClient(client, redisEndpoint(url), log);
  const commandTimeoutMs = options.commandTimeoutMs ?? 250;
  // Asked on every (re)connection: a server restarted with other settings is asked again.
  const checkPersistence = () => warnWithoutPersistence(client, redisEndpoint(url), log, 2 * commandTimeoutMs);
  if (options.awaitConnection === false) {
    client.on("ready", () => void checkPersistence());
    client.connect().catch(() => {}); // retried by the reconnect strategy; failures are 'error' events
  } else {
    await firstConnection(client, (options.connectTimeoutMs ?? 250) + 2 * commandTimeoutMs);
    await checkPersistence();
    client.on("ready", () => void checkPersistence());
  }
  const scripts = withCommandDeadline(nodeRedisScripts(client), commandTimeoutMs);
  // close() waits for replies to commands already written: bounded too, then the socket is destroyed.
  scripts.close = () => within(commandTimeoutMs, client.close()).then(() => undefined, () => client.destroy());
  return new RedisTokenStore(scripts, options);
}
