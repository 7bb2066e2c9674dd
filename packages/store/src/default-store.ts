import { getDatabase } from "@tokenvault/db";
import { InMemoryTokenStore } from "./backends/memory-store";
import { PostgresTokenStore } from "./backends/postgres-store";
import { connectRedisTokenStore } from "./backends/redis-connection";
import { RedisTokenStore } from "./backends/redis-store";
import { upstashScripts } from "./backends/clients";
import { storeSettingsFromEnv } from "./env";
import type { NewTokenMetadata, TokenMetadata, TokenStore } from "./types";

/**
 * The store TOKEN_STORE names: unset or `postgres`, the app's own database (embedded or
 * PostgreSQL); `redis` (REDIS_URL), `upstash` (UPSTASH_REDIS_REST_URL/_TOKEN) or `memory`. The
 * Redis and Upstash SDKs are loaded only here, and only when chosen.
 */
export async function createTokenStoreFromEnv(): Promise<TokenStore> {
  const settings = storeSettingsFromEnv();
  switch (settings.backend) {
    case "memory":
      return new InMemoryTokenStore();
    case "postgres":
      return new PostgresTokenStore((await getDatabase()).prisma);
    case "redis":
      return connectRedisTokenStore(settings.url);
    case "upstash": {
      const { Redis } = await import("@upstash/redis");
      return new RedisTokenStore(upstashScripts(new Redis({ url: settings.url, token: settings.token })));
    }
  }
}

/** A store built on first use: what getTokenStore returns when the app set none. */
export class LazyTokenStore implements TokenStore {
  private building: Promise<TokenStore> | undefined;

  constructor(private readonly build: () => Promise<TokenStore>) {}

  private target(): Promise<TokenStore> {
    // A failed build (a backend down at start-up) is tried again on the next call.
    this.building ??= this.build().catch((error: unknown) => {
      this.building = undefined;
      throw error;
    });
    return this.building;
  }

  async store(token: string, metadata: NewTokenMetadata): Promise<void> {
    return (await this.target()).store(token, metadata);
  }
  async get(token: string): Promise<TokenMetadata | null> {
    return (await this.target()).get(token);
  }
  async getById(id: string): Promise<TokenMetadata | null> {
    return (await this.target()).getById(id);
  }
  async delete(token: string): Promise<boolean> {
    return (await this.target()).delete(token);
  }
  async list(subject: string): Promise<TokenMetadata[]> {
    return (await this.target()).list(subject);
  }
  async revoke(token: string): Promise<boolean> {
    return (await this.target()).revoke(token);
  }
  async isRevoked(token: string): Promise<boolean> {
    return (await this.target()).isRevoked(token);
  }
  async cleanup(): Promise<number> {
    return (await this.target()).cleanup();
  }
  async close(): Promise<void> {
    const building = this.building;
    this.building = undefined;
    if (building) await (await building.catch(() => undefined))?.close();
  }
}
