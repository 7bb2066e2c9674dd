import { randomBytes } from "node:crypto";
import { toStorageError } from "../errors";
import { checkLockName, checkLockOwner, checkLockTtl } from "../lock-input";
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

export interface RedisStoreLockOptions {
  /** Key prefix, as the store's (the lock keys live beside its keys). Default "tokenvault:store". */
  prefix?: string;
}

/**
 * StoreLock on Redis: SET NX PX to take, compare-and-delete to release. Input is checked with the
 * bounds every backend shares (lock-input.ts); any well-formed name is a valid Redis key.
 */
export class RedisStoreLock implements StoreLock {
  private readonly prefix: string;

  constructor(
    private readonly client: ScriptClient,
    options: RedisStoreLockOptions = {},
  ) {
    this.prefix = options.prefix ?? "tokenvault:store";
  }

  async acquire(name: string, ttlMs: number): Promise<string | null> {
    const [lockName, ttl] = [checkLockName(name), checkLockTtl(ttlMs)];
    const owner = randomBytes(16).toString("base64url");
    return Number(await this.run("acquire", lockName, [owner, String(ttl)])) === 1 ? owner : null;
  }

  async release(name: string, owner: string): Promise<void> {
    const [lockName, lockOwner] = [checkLockName(name), checkLockOwner(owner)];
    await this.run("release", lockName, [lockOwner]);
  }

  private async run(script: keyof typeof SCRIPTS, name: string, args: string[]): Promise<unknown> {
    const keys = [`${this.prefix}:lock:${name}`];
    try {
      return await runScript(this.client, LUA[script], keys, args);
    } catch (error) {
      throw toStorageError("lock", null, error);
    }
  }
}
