import { randomBytes } from "node:crypto";
import { StorageError, toStorageError } from "../errors";
import type { StoreLock } from "../types";
import { luaScript, runScript, type ScriptClient } from "./clients";

// The Redis lock: one key, `<prefix>:lock:<name>`, a STRING holding the owner's random token
// and expiring after the ttl on Redis's own clock. Both operations are scripts, even the
// single SET, because a ScriptClient is all the node-redis, Upstash and Vercel KV adapters share.
const SCRIPTS = {
  // KEYS: lock; ARGV: owner, ttl ms -> 1 when taken
  acquire: `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`,
  // KEYS: lock; ARGV: owner -> 1 when released. Compare-and-delete: a holder whose ttl ran out
  // must not release the lock someone else has taken since.
  release: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
} as const;
const LUA = { acquire: luaScript(SCRIPTS.acquire), release: luaScript(SCRIPTS.release) };

/** Lock names are plain (they show up in Redis), so they are kept to a safe alphabet. */
const NAME = /^[A-Za-z0-9:._-]{1,200}$/;
const MAX_TTL_MS = 3_600_000;

export interface RedisStoreLockOptions {
  /** Key prefix, as the store's (the lock keys live beside its keys). Default "tokenvault:store". */
  prefix?: string;
}

/** StoreLock on Redis: SET NX PX to take, compare-and-delete to release. */
export class RedisStoreLock implements StoreLock {
  private readonly prefix: string;

  constructor(
    private readonly client: ScriptClient,
    options: RedisStoreLockOptions = {},
  ) {
    this.prefix = options.prefix ?? "tokenvault:store";
  }

  async acquire(name: string, ttlMs: number): Promise<string | null> {
    if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TTL_MS) throw new StorageError("lock", "INVALID_INPUT", `ttlMs must be an integer from 1 to ${MAX_TTL_MS}`);
    const owner = randomBytes(16).toString("base64url");
    return Number(await this.run("acquire", name, [owner, String(ttlMs)])) === 1 ? owner : null;
  }

  async release(name: string, owner: string): Promise<void> {
    if (typeof owner !== "string" || owner === "") throw new StorageError("lock", "INVALID_INPUT", "owner must be the token acquire returned");
    await this.run("release", name, [owner]);
  }

  private async run(script: keyof typeof SCRIPTS, name: string, args: string[]): Promise<unknown> {
    if (typeof name !== "string" || !NAME.test(name)) throw new StorageError("lock", "INVALID_INPUT", "a lock name is 1-200 letters, digits or :._-");
    const keys = [`${this.prefix}:lock:${name}`];
    try {
      return await runScript(this.client, LUA[script], keys, args);
    } catch (error) {
      throw toStorageError("lock", null, error);
    }
  }
}
