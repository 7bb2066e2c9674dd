import { createHash } from "node:crypto";

/**
 * What the Redis store needs of a client: run a script by its SHA-1, or by its text. Adapters
 * exist for node-redis and for Upstash-shaped clients (`@upstash/redis`, Vercel KV), so this
 * package depends on no SDK: an app passes the client it already has.
 */
export interface ScriptClient {
  evalSha(sha: string, keys: string[], args: string[]): Promise<unknown>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  /**
   * HMGET, where the client offers it (node-redis): `get` then reads an entry with one plain
   * command. Calling a script took several times the server time of the read it wraps.
   */
  hmget?(key: string, fields: string[]): Promise<unknown>;
  /** Closes the connection, when the store owns it. */
  close?(): Promise<void>;
}

/** A Lua script and its SHA-1, computed once. */
export interface LuaScript {
  text: string;
  sha: string;
}

export function luaScript(text: string): LuaScript {
  return { text, sha: createHash("sha1").update(text).digest("hex") };
}

/** Runs a script by its SHA (one short request), sending its text only when Redis does not have it yet (NOSCRIPT). */
export function runScript(client: ScriptClient, script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
  // No async wrapper on the usual path: the reply is the client's own promise.
  return client.evalSha(script.sha, keys, args).catch((error: unknown) => {
    if (!/NOSCRIPT/i.test(error instanceof Error ? error.message : String(error))) throw error;
    return client.eval(script.text, keys, args);
  });
}

/** The part of a node-redis client the store uses (`createClient()` from `redis`). */
export interface NodeRedisLike {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  hmGet?(key: string, fields: string[]): Promise<unknown>;
  close?(): Promise<unknown>;
}

/** The part of an `@upstash/redis` client (or a Vercel KV client, which has its shape) the store uses. */
export interface UpstashLike {
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
}

/** A node-redis client as a ScriptClient; `owned` closes it with the store. */
export function nodeRedisScripts(client: NodeRedisLike, owned = false): ScriptClient {
  return {
    evalSha: (sha, keys, args) => client.evalSha(sha, { keys, arguments: args }),
    eval: (script, keys, args) => client.eval(script, { keys, arguments: args }),
    hmget: client.hmGet ? (key, fields) => client.hmGet!(key, fields) : undefined,
    close: owned && client.close ? async () => void (await client.close!()) : undefined,
  };
}

/** An Upstash-shaped REST client as a ScriptClient (stateless: nothing to close). */
export function upstashScripts(client: UpstashLike): ScriptClient {
  return {
    evalSha: (sha, keys, args) => client.evalsha(sha, keys, args),
    eval: (script, keys, args) => client.eval(script, keys, args),
  };
}
