// The backends the service token herd runs on, by name: each gives a worker process its own
// connection, store and lock over shared state.
import { createClient } from "redis";
import type { Vault } from "@tokenvault/vault";
import { openDatabase } from "@tokenvault/db";
import { createPostgresTokenStore, createRedisStoreLock, createRedisTokenStore, type StoreLock, type TokenStore } from "../src/index";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** The run's test database (the parent passes its own; see global-setup.ts). */
const DATABASE_URL = () => {
  const url = process.env.HERD_DATABASE_URL;
  if (!url) throw new Error("the postgres herd backend needs HERD_DATABASE_URL");
  return url;
};

export interface HerdBackend {
  /** In a worker: a store and lock of its own, over the state every worker shares under `prefix`. */
  open(options: { vault: Vault; prefix: string }): Promise<{ store: TokenStore; lock: StoreLock }>;
  /** In the parent, after the run: removes what the run left. */
  cleanup(prefix: string): Promise<void>;
}

export const HERD_BACKENDS: Record<string, HerdBackend> = {
  redis: {
    async open({ vault, prefix }) {
      const client = await createClient({ url: REDIS_URL }).connect();
      return { store: createRedisTokenStore(client, { vault, prefix, ownsClient: true }), lock: createRedisStoreLock(client, { prefix }) };
    },
    async cleanup(prefix) {
      const client = await createClient({ url: REDIS_URL }).connect();
      try {
        for await (const keys of client.scanIterator({ MATCH: `${prefix}:*` })) if (keys.length > 0) await client.del(keys);
      } finally {
        await client.close();
      }
    },
  },
  postgres: {
    async open({ vault, prefix }) {
      // One Prisma client (and pool) per worker process, like separate app servers.
      const db = await openDatabase({ databaseUrl: DATABASE_URL() });
      const store = createPostgresTokenStore(db.prisma, { vault, namespace: prefix, ownsClient: true });
      return { store, lock: store };
    },
    async cleanup(prefix) {
      const db = await openDatabase({ databaseUrl: DATABASE_URL() });
      try {
        await db.prisma.tokenStoreEntry.deleteMany({ where: { namespace: prefix } });
        await db.prisma.tokenStoreLock.deleteMany({ where: { namespace: prefix } });
      } finally {
        await db.close();
      }
    },
  },
};

export function herdBackend(name: string): HerdBackend {
  const backend = HERD_BACKENDS[name];
  if (!backend) throw new Error(`no herd backend "${name}"; known: ${Object.keys(HERD_BACKENDS).join(", ")}`);
  return backend;
}
