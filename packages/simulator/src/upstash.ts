// An Upstash-REST-compatible endpoint in front of a real Redis, so the real `@upstash/redis`
// client (and Vercel KV, which is that client) is exercised over HTTP in tests. The wire format
// is the one `@upstash/redis` 1.39 speaks (pkg/http.ts, pkg/pipeline.ts):
//   POST <base>             ["EVALSHA", sha, 0, ...]      -> {"result": ...} | 400 {"error": "<Redis error>"}
//   POST <base>/pipeline    [[cmd...], [cmd...]]          -> 200 [{"result": ...} | {"error": ...}, ...]
//   POST <base>/multi-exec  [[cmd...], [cmd...]]          -> the same, run inside MULTI/EXEC
// with `Authorization: Bearer <token>` (or `?_token=`), a wrong or missing token answering
// 401 {"error": ...}. The client sends `Upstash-Encoding: base64` by default and then
// base64-decodes every string in the result except a top-level "OK"; so every string reply but
// that one is sent base64-encoded (bytes exact: bulk strings are read from Redis as Buffers).
// Replies follow RESP2, as Upstash's do (HGETALL is a flat array).
import { timingSafeEqual } from "node:crypto";
import { createClient, ErrorReply, MultiErrorReply, RESP_TYPES } from "redis";
import { HttpError, json, readBody, type SimResponse } from "./http";
import type { Route } from "./router";
import type { RequestContext } from "./context";

export interface UpstashOptions {
  /** The Redis commands are forwarded to. Default redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** The REST token clients must present. */
  token: string;
}

/** Where a client reaches the endpoint: `new Redis({ url, token })` from `@upstash/redis`. */
export interface UpstashCredentials {
  url: string;
  token: string;
}

/** The path the endpoint is mounted at, under the simulator's URL. */
export const UPSTASH_PATH = "/upstash";

// The text Upstash answers a bad token with (seen from @upstash/redis: upstash/redis-js#1389).
const UNAUTHORIZED = "WRONGPASS invalid or missing auth token";

// These change the state of a connection; on the one connection every request shares they
// would leak into other requests (transactions go through /multi-exec instead).
const CONNECTION_STATE = new Set(["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "SELECT", "SWAPDB", "AUTH", "HELLO", "RESET", "QUIT", "CLIENT", "MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"]);

/** A request the endpoint refuses before Redis sees it. */
class BadRequest extends Error {}

function connect(url: string) {
  let ready = false;
  // RESP2 as Upstash replies; bulk strings as Buffers so base64 is byte-exact; no offline queue,
  // so a request made while Redis is down fails at once (a 500) instead of hanging. The first
  // connection is not retried (a wrong URL fails the start); a lost one is, until Redis is back.
  const reconnectStrategy = (retries: number, cause: Error) => (ready ? Math.min(50 * 2 ** retries, 2_000) : cause);
  const client = createClient({ url, RESP: 2, disableOfflineQueue: true, socket: { reconnectStrategy } }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  let down = false;
  client.on("ready", () => {
    ready = true;
    down = false;
  });
  // Without a listener a connection error would crash the process; one line per outage is enough.
  client.on("error", (error: unknown) => {
    if (down) return;
    down = true;
    console.error("[simulator] upstash: Redis connection error:", error instanceof Error ? error.message : error);
  });
  return client;
}
type RedisConnection = ReturnType<typeof connect>;

/** One command of a request body: a non-empty array of strings, numbers or booleans (the client sends numbers as JSON numbers). */
function toCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new BadRequest("ERR a command must be a non-empty JSON array");
  const args = value.map((arg: unknown) => {
    if (typeof arg === "string" || typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new BadRequest("ERR command arguments must be strings, numbers or booleans");
  });
  const name = args[0]!.toUpperCase();
  if (CONNECTION_STATE.has(name)) throw new BadRequest(`ERR command ${name} is not supported by the REST endpoint`);
  return args;
}

function toCommands(value: unknown): string[][] {
  if (!Array.isArray(value) || value.length === 0) throw new BadRequest("ERR the body must be a non-empty JSON array of commands");
  return value.map(toCommand);
}

/**
 * A Redis reply as Upstash puts it in JSON. With base64 the client decodes every string except a
 * result that is exactly "OK" (nested strings are always decoded), so only a top-level status
 * "OK" is sent as is; any other status (PONG) is encoded like a bulk string.
 */
function encode(reply: unknown, base64: boolean, top = true): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString(base64 ? "base64" : "utf8");
  if (typeof reply === "string") return base64 && !(top && reply === "OK") ? Buffer.from(reply, "utf8").toString("base64") : reply;
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64, false));
  if (reply instanceof Error) return reply.message;
  if (typeof reply === "bigint") return String(reply);
  return reply ?? null;
}

function entry(reply: unknown, base64: boolean): { result: unknown } | { error: string } {
  return reply instanceof ErrorReply ? { error: reply.message } : { result: encode(reply, base64) };
}

function failure(error: unknown): SimResponse {
  // A Redis error reply (NOSCRIPT, WRONGTYPE, ...) is the caller's: 400 with Redis's own text,
  // which the client puts in the message it throws. Anything else (Redis unreachable) is ours.
  if (error instanceof ErrorReply) return json(400, { error: error.message });
  if (error instanceof BadRequest) return json(400, { error: error.message });
  return json(500, { error: `ERR the simulator could not reach Redis: ${error instanceof Error ? error.message : String(error)}` });
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The endpoint: a connection to Redis and the routes that use it. */
export class UpstashEndpoint {
  private constructor(
    private readonly redis: RedisConnection,
    private readonly token: string,
  ) {}

  static async start(options: UpstashOptions): Promise<UpstashEndpoint> {
    if (!options.token) throw new Error("the Upstash endpoint needs a token");
    const redis = connect(options.redisUrl ?? "redis://127.0.0.1:6379");
    await redis.connect();
    return new UpstashEndpoint(redis, options.token);
  }

  routes(): Route[] {
    const route = (path: string, run: (body: unknown, base64: boolean) => Promise<SimResponse>): Route => ({
      methods: ["POST"],
      path: `${UPSTASH_PATH}${path}`,
      handle: (ctx) => this.handle(ctx, run),
    });
    return [route("", (body, base64) => this.single(body, base64)), route("/pipeline", (body, base64) => this.pipeline(body, base64)), route("/multi-exec", (body, base64) => this.multiExec(body, base64))];
  }

  async close(): Promise<void> {
    if (this.redis.isOpen) await this.redis.close();
  }

  private async handle(ctx: RequestContext, run: (body: unknown, base64: boolean) => Promise<SimResponse>): Promise<SimResponse> {
    const header = ctx.req.headers.authorization;
    const bearer = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : (ctx.url.searchParams.get("_token") ?? undefined);
    if (!sameToken(bearer, this.token)) return json(401, { error: UNAUTHORIZED });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(ctx.req));
    } catch (error) {
      return json(400, { error: error instanceof HttpError ? `ERR ${error.description}` : "ERR the body is not valid JSON" });
    }
    const base64 = String(ctx.req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    try {
      return await run(body, base64);
    } catch (error) {
      return failure(error);
    }
  }

  private async single(body: unknown, base64: boolean): Promise<SimResponse> {
    const reply = await this.redis.sendCommand(toCommand(body));
    return json(200, { result: encode(reply, base64) });
  }

  /** In order, not atomic (other requests may interleave); each command answers for itself. */
  private async pipeline(body: unknown, base64: boolean): Promise<SimResponse> {
    const commands = toCommands(body);
    // Queued in one tick, so node-redis writes them to the socket in this order.
    const settled = await Promise.allSettled(commands.map((command) => this.redis.sendCommand(command)));
    const entries = settled.map((outcome) => {
      if (outcome.status === "fulfilled") return entry(outcome.value, base64);
      if (outcome.reason instanceof ErrorReply) return entry(outcome.reason, base64);
      throw outcome.reason;
    });
    return json(200, entries);
  }

  /**
   * Atomic: node-redis sends MULTI, the commands and EXEC back to back on the connection. A
   * command failing as it runs answers with its error in place (the others still ran, as in
   * Redis); one Redis refused to queue aborts the whole transaction with a 400.
   */
  private async multiExec(body: unknown, base64: boolean): Promise<SimResponse> {
    const multi = this.redis.multi();
    for (const command of toCommands(body)) multi.addCommand(command);
    let replies: unknown[];
    try {
      replies = await multi.exec();
    } catch (error) {
      if (!(error instanceof MultiErrorReply)) throw error;
      replies = error.replies;
    }
    return json(
      200,
      replies.map((reply) => entry(reply, base64)),
    );
  }
}
