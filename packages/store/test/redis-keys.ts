import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { redisUrlForTests } from "../src/env";

export const REDIS_URL = redisUrlForTests();

/**
 * A direct node-redis connection for tests: fresh key prefixes (runs sharing one Redis never
 * meet), a dump of every key and value under a prefix (for the canary tests), and at the end
 * the deletion of every key under the prefixes it handed out.
 */
export class RedisTestKeys {
  readonly client = createClient({ url: REDIS_URL });
  private readonly prefixes: string[] = [];

  async connect(): Promise<this> {
    await this.client.connect();
    return this;
  }

  freshPrefix(label = "test"): string {
    const prefix = `${label}:${randomBytes(6).toString("hex")}`;
    this.prefixes.push(prefix);
    return prefix;
  }

  /** Every key under the prefix with its value, read straight from Redis. */
  async dump(prefix: string): Promise<string> {
    const lines: string[] = [];
    for await (const keys of this.client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 100 })) {
      for (const key of keys) {
        const type = await this.client.type(key);
        const value = type === "hash" ? await this.client.hGetAll(key) : type === "zset" ? await this.client.zRangeWithScores(key, 0, -1) : await this.client.get(key);
        lines.push(`${key} ${JSON.stringify(value)}`);
      }
    }
    return lines.join("\n");
  }

  /** Deletes every key under the prefixes handed out, then disconnects. */
  async close(): Promise<void> {
    for (const prefix of this.prefixes) {
      for await (const keys of this.client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) if (keys.length > 0) await this.client.del(keys);
    }
    await this.client.close();
  }
}
