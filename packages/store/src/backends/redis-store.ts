import { byExpiry, type Clock } from "../clock";
import type { StoreCodec } from "../codec";
import { StorageError, toStorageError, type StorageOperation } from "../errors";
import { resolveOptions, type StoreOptions } from "../options";
import type { NewTokenMetadata, StoreLock, TokenMetadata, TokenStore } from "../types";
import { luaScript, runScript, type LuaScript, type ScriptClient } from "./clients";
import { RedisStoreLock } from "./redis-lock";
import { SCRIPTS, type ScriptName } from "./redis-scripts";

export interface RedisTokenStoreOptions extends StoreOptions {
  /** Key prefix; separate stores (or test runs) sharing one Redis use different ones. Default "tokenvault:store". */
  prefix?: string;
  /** Subject indexes visited per cleanup call. Default 100. */
  cleanupBatch?: number;
  /** Most tokens `list` returns for one subject. Default 1,000. */
  listLimit?: number;
  /**
   * Redis Cluster: every key becomes `{<prefix>}:...`, so all of a store's keys share one hash slot
   * and each script (an entry with its subject and id indexes) runs on one node. Default false:
   * a single Redis keeps the untagged keys it has always had.
   */
  hashTag?: boolean;
}

const LUA = Object.fromEntries(Object.entries(SCRIPTS).map(([name, text]) => [name, luaScript(text)])) as Record<ScriptName, LuaScript>;

/**
 * Redis (node-redis), Upstash and Vercel KV: one implementation, each operation one atomic
 * script. It is its own StoreLock too (SET NX PX, compare-and-delete), under the same prefix.
 */
export class RedisTokenStore implements TokenStore, StoreLock {
  private readonly prefix: string;
  private readonly codec: StoreCodec;
  private readonly clock: Clock;
  private readonly cleanupBatch: number;
  private readonly listLimit: number;
  private readonly lock: RedisStoreLock;

  constructor(
    private readonly client: ScriptClient,
    options: RedisTokenStoreOptions = {},
  ) {
    ({ codec: this.codec, clock: this.clock } = resolveOptions(options));
    const prefix = options.prefix ?? "tokenvault:store";
    this.prefix = options.hashTag ? `{${prefix}}` : prefix;
    this.cleanupBatch = options.cleanupBatch ?? 100;
    this.listLimit = options.listLimit ?? 1_000;
    // Lock keys are single-key scripts: untagged, so locks spread over the cluster's slots.
    this.lock = new RedisStoreLock(client, { prefix });
  }

  acquire(name: string, ttlMs: number): Promise<string | null> {
    return this.lock.acquire(name, ttlMs);
  }

  release(name: string, owner: string): Promise<void> {
    return this.lock.release(name, owner);
  }

  private now(): string {
    return String(this.clock.now().getTime());
  }

  /**
   * Runs a script (by SHA, loading it on first use), mapping failures to StorageError. `declared`
   * (`<kind>:<index>`) is a key the script reads, passed as KEYS[1] so a cluster client sends the
   * script to the node owning the store's slot; the scripts derive their other keys from the prefix.
   */
  private async run(op: StorageOperation, name: ScriptName, key: string | null, declared: string, args: string[]): Promise<unknown> {
    const argv = [this.prefix, ...args];
    try {
      return await runScript(this.client, LUA[name], [`${this.prefix}:${declared}`], argv);
    } catch (error) {
      throw toStorageError(op, key, error);
    }
  }

  async store(token: string, metadata: NewTokenMetadata): Promise<void> {
    const entry = this.codec.encode(token, metadata, this.clock.now());
    const reply = await this.run("store", "store", entry.tokenKey, `t:${entry.tokenKey}`, [entry.tokenKey, entry.sealed, String(entry.expiresAtMs), this.now(), entry.subjectKey, entry.idKey]);
    if (String(reply) === "revoked") throw new StorageError("store", "CONFLICT", "the token was revoked", entry.tokenKey);
  }

  async get(token: string): Promise<TokenMetadata | null> {
    for (const key of this.codec.tokenKeys("get", token)) {
      const sealed = await this.liveEntry(key);
      if (sealed !== null) return this.codec.decode("get", key, sealed);
    }
    return null;
  }

  /**
   * The sealed metadata of a live entry, else null. The entry alone answers (see the get script:
   * a revoked token has none), so where the client has HMGET it is one plain command, with the
   * script's expiry test made here on the same clock.
   */
  private async liveEntry(key: string): Promise<string | null> {
    if (!this.client.hmget) {
      const sealed = await this.run("get", "get", key, `t:${key}`, [key, this.now()]);
      return typeof sealed === "string" ? sealed : null;
    }
    let reply: unknown;
    try {
      reply = await this.client.hmget(`${this.prefix}:t:${key}`, ["m", "x"]);
    } catch (error) {
      throw toStorageError("get", key, error);
    }
    const [sealed, expiresAtMs] = Array.isArray(reply) ? (reply as unknown[]) : [];
    return typeof sealed === "string" && Number(expiresAtMs) > this.clock.now().getTime() ? sealed : null;
  }

  async getById(id: string): Promise<TokenMetadata | null> {
    for (const idKey of this.codec.idKeys("getById", id)) {
      const reply = await this.run("getById", "getById", idKey, `i:${idKey}`, [idKey, this.now()]);
      if (Array.isArray(reply)) return this.codec.decode("getById", String(reply[0]), String(reply[1]));
    }
    return null;
  }

  async delete(token: string): Promise<boolean> {
    let deleted = false;
    for (const key of this.codec.tokenKeys("delete", token)) {
      if (Number(await this.run("delete", "delete", key, `t:${key}`, [key, this.now()])) === 1) deleted = true;
    }
    return deleted;
  }

  async list(subject: string): Promise<TokenMetadata[]> {
    const found: TokenMetadata[] = [];
    for (const subjectKey of this.codec.subjectKeys("list", subject)) {
      const reply = await this.run("list", "list", subjectKey, `s:${subjectKey}`, [subjectKey, this.now(), String(this.listLimit)]);
      const pairs = Array.isArray(reply) ? reply.map(String) : [];
      for (let i = 0; i + 1 < pairs.length; i += 2) found.push(this.codec.decode("list", pairs[i]!, pairs[i + 1]!));
    }
    return found.sort(byExpiry);
  }

  async revoke(token: string): Promise<boolean> {
    for (const key of this.codec.tokenKeys("revoke", token)) {
      if (Number(await this.run("revoke", "revoke", key, `t:${key}`, [key, this.now()])) === 1) return true;
    }
    return false;
  }

  async isRevoked(token: string): Promise<boolean> {
    for (const key of this.codec.tokenKeys("isRevoked", token)) {
      if (Number(await this.run("isRevoked", "isRevoked", key, `r:${key}`, [key, this.now()])) === 1) return true;
    }
    return false;
  }

  async cleanup(): Promise<number> {
    return Number(await this.run("cleanup", "cleanup", null, "cleanup-cursor", [this.now(), String(this.cleanupBatch)]));
  }

  async close(): Promise<void> {
    await this.client.close?.();
  }
}
